"""Slippage against trade size, book and pool on one figure, as a PNG.

Uses matplotlib's object API (``Figure``), not ``pyplot``: no global figure state and no
display backend, so it runs the same on a server, in CI and in tests (PNG via Agg).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from perpdex.core.types import Collateral
from perpdex.core.units import from_collateral_units
from perpdex.sim.amm_vs_book import Comparison, Setup


def plot_slippage(
    results: list[Comparison], setup: Setup, path: Path, marked: Collateral | None = None
) -> Path:
    """Write the figure to ``path`` (parent folders created) and return it; ``marked``
    draws a vertical line at that trade size (the one the command printed)."""
    sizes = [float(from_collateral_units(result.notional)) for result in results]
    book = [float(result.book.slippage_bps) for result in results]
    amm = [float(result.amm.slippage_bps) for result in results]
    figure = Figure(figsize=(8, 5))
    axes = figure.subplots()
    axes.plot(sizes, book, "o-", label="order book (market-maker ladder, real engine)")
    axes.plot(sizes, amm, "s-", label="oracle-priced pool (GMX v2-style impact)")
    # a book that ran out of depth filled only part of the order: mark those sizes
    partial = [i for i, result in enumerate(results) if not result.book.complete]
    if partial:
        xs, ys = [sizes[i] for i in partial], [book[i] for i in partial]
        axes.plot(xs, ys, "rx", markersize=12, label="book ran out of depth")
    if marked is not None:
        usd = float(from_collateral_units(marked))
        axes.axvline(usd, color="grey", linestyle=":", label=f"{usd:,.0f} USDC")
    axes.set_xscale("log")
    axes.set_xlabel("market order size (USDC notional)")
    axes.set_ylabel("slippage against mid / oracle price (bps)")
    skew = float(from_collateral_units(setup.pool.imbalance))
    axes.set_title(
        f"BTC-PERP {setup.side.name.lower()} order: book (seed {setup.seed}) "
        f"vs pool (open-interest skew {skew:,.0f} USDC)"
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path
