"""The market run's figure: the index, the book's mid and the keeper's hedge fills over
time (matplotlib's object API, as ``perpdex.sim.plot``)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from perpdex.core.types import Price
from perpdex.core.units import from_price_units, from_size_units
from perpdex.sim.market.scenario import MarketRun


def usd(price: Price | float) -> float:
    return float(from_price_units(Price(int(price))))


def plot_market(run: MarketRun, path: Path) -> Path:
    """Write the figure to ``path`` (parent folders created); time in seconds since the
    node started."""
    figure = Figure(figsize=(10, 5.5))
    axes = figure.subplots()
    t0 = run.started
    index = run.observer.index
    axes.step(
        [s.at - t0 for s in index],
        [usd(s.price) for s in index],
        where="post",
        color="black",
        label="index (oracle)",
    )
    books = [b for b in run.observer.books if b.best_bid is not None and b.best_ask is not None]
    axes.plot(
        [b.at - t0 for b in books],
        [usd(((b.best_bid or 0) + (b.best_ask or 0)) / 2) for b in books],
        color="tab:blue",
        linewidth=0.8,
        label="book mid",
    )
    axes.plot(
        [b.at - t0 for b in books],
        [usd(b.best_bid or 0) for b in books],
        color="tab:green",
        linewidth=0.6,
        alpha=0.7,
        label="best bid",
    )
    fills = run.hedges.fills
    axes.scatter(
        [f.at - t0 for f in fills],
        [usd(f.price) for f in fills],
        s=[20 + 60 * float(from_size_units(f.size)) for f in fills],
        color="tab:red",
        zorder=3,
        label="keeper hedge fills (size ~ area)",
    )
    crash = run.params.crash_at_s
    if run.params.crash_ppm:
        axes.axvline(crash, color="grey", linestyle=":", label=f"crash due ({crash:g} s)")
    axes.set_xlabel("seconds since the node started")
    axes.set_ylabel("BTC-PERP price (USD)")
    axes.set_title("Market with bots: index, book and the keeper's hedges")
    axes.legend()
    axes.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
