"""The cascade's figure: the price path and the forced volume per block, both policies.

matplotlib's object API (``Figure``, Agg), as ``perpdex.sim.plot``: no global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure

from perpdex.core.units import from_price_units
from perpdex.sim.cascade.metrics import Run, by_block, usdc

STYLE = {"tiered": ("tab:blue", -0.2), "full": ("tab:red", 0.2)}
"""Colour and bar offset per policy (the bars of one block side by side)."""


def plot_cascade(runs: Mapping[str, Run], path: Path) -> Path:
    """Write the figure to ``path`` (parent folders created); time is in blocks since each
    run's first price push."""
    figure = Figure(figsize=(9, 6))
    prices, forced = figure.subplots(2, 1, sharex=True)
    for name, run in runs.items():
        colour, offset = STYLE.get(name, ("tab:gray", 0.0))
        start = run.prices[0].block
        prices.step(
            [p.block - start for p in run.prices],
            [float(from_price_units(p.price)) for p in run.prices],
            where="post",
            color=colour,
            label=f"index price ({name} run)",
        )
        volume = by_block(run)
        forced.bar(
            [block - start + offset for block, _ in volume],
            [usdc(amount) / 1_000 for _, amount in volume],
            width=0.4,
            color=colour,
            label=f"{name}: forced volume",
        )
    prices.set_ylabel("index price (USD)")
    prices.set_title("Liquidation cascade: tiered vs full-close liquidation")
    prices.legend()
    prices.grid(alpha=0.3)
    forced.set_ylabel("forced volume (thousand USDC)")
    forced.set_xlabel("blocks since the first price push (1 s blocks)")
    forced.legend()
    forced.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
