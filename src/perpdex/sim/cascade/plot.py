"""The cascade's figures, both policies on each: the price path and the forced volume per
block; with feedback, the index against the external path and the forced volume per round
and per price level.

matplotlib's object API (``Figure``, Agg), as ``perpdex.sim.plot``: no global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure

from perpdex.core.units import from_price_units, from_size_units, units
from perpdex.sim.cascade.metrics import (
    LEVEL,
    FeedbackRun,
    Run,
    by_block,
    by_round,
    forced_by_level,
    usdc,
)
from perpdex.sim.cascade.simulate import FeedbackParams

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


def plot_feedback(runs: Mapping[str, FeedbackRun], feedback: FeedbackParams, path: Path) -> Path:
    """The feedback cascade of both policies on one figure, time in rounds: the external
    path and each policy's index; the liquidated volume per round; and per price level."""
    figure = Figure(figsize=(9, 9))
    prices, per_round, per_level = figure.subplots(3, 1)
    external = next(iter(runs.values())).rounds
    prices.step(
        range(len(external)),
        [float(from_price_units(r.external)) for r in external],
        "k--",
        where="post",
        label="external path",
    )
    for name, run in runs.items():
        colour, offset = STYLE.get(name, ("tab:gray", 0.0))
        prices.step(
            range(len(run.rounds)),
            [float(from_price_units(r.index)) for r in run.rounds],
            where="post",
            color=colour,
            # the first policy drawn wider: where both indices agree, both stay visible
            linewidth=3.0 if offset < 0 else 1.5,
            label=f"index ({name})",
        )
        volume = by_round(run)
        per_round.bar(
            [number + offset for number in range(len(volume))],
            [usdc(amount) / 1_000 for amount in volume],
            width=0.4,
            color=colour,
            label=f"{name}: liquidated volume",
        )
        levels = forced_by_level(run.run)
        per_level.bar(
            [int(band) / 1_000 + 0.5 + offset for band in levels],
            [amount / 1_000 for amount in levels.values()],
            width=0.4,
            color=colour,
            label=f"{name}: liquidated volume",
        )
    weight = feedback.feedback.weight_ppm / units().fraction_scale
    depth = from_size_units(feedback.depth.base_size).normalize()
    prices.set_title(
        f"Liquidation cascade with feedback: tiered vs full-close\n"
        f"index = {weight:g} x book mid + {1 - weight:g} x external path; "
        f"book {depth:f} BTC at the first level a side"
    )
    prices.set_ylabel("price (USD)")
    prices.set_xlabel("round (one oracle push each)")
    per_round.set_ylabel("thousand USDC")
    per_round.set_xlabel("round")
    per_level.set_ylabel("thousand USDC")
    per_level.set_xlabel(f"index price level (thousand USD, {LEVEL:,} USD bands)")
    for axes in (prices, per_round, per_level):
        axes.legend()
        axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
