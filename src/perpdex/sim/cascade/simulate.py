"""Both policies on the same seeded book and crash, and their JSON report: on the fixed
price path, or with the index following the venue's own book (``--feedback``)."""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.chain.markets import MarketSpec, default_markets
from perpdex.core.types import Price
from perpdex.core.units import from_price_units, from_size_units, units
from perpdex.keeper.hedge import DEFAULT_SLIPPAGE_PPM
from perpdex.sim.cascade.book import Depth
from perpdex.sim.cascade.chain import MARKET, Policy, crowd, run_policy
from perpdex.sim.cascade.feedback import Feedback
from perpdex.sim.cascade.metrics import FeedbackRun, Run, feedback_summary, summary
from perpdex.sim.cascade.rounds import MAX_ROUNDS, run_feedback
from perpdex.sim.cascade.scenario import TraderSpec, crash_path, traders

POLICIES = (Policy("tiered", full_close=False), Policy("full", full_close=True))
CRASH_STEPS = 5


@dataclass(frozen=True, slots=True)
class Params:
    traders: int
    seed: int
    drop_ppm: int


@dataclass(frozen=True, slots=True)
class FeedbackParams:
    feedback: Feedback
    depth: Depth


def market() -> MarketSpec:
    (spec,) = [m for m in default_markets() if m.symbol == MARKET]
    return spec


def _inputs(params: Params) -> tuple[list[TraderSpec], list[Price]]:
    spec = market()
    book = traders(params.traders, params.seed, spec.index_price, spec.lot_size)
    path = crash_path(spec.index_price, params.drop_ppm, CRASH_STEPS, params.seed, spec.tick_size)
    return book, path


def simulate(params: Params) -> dict[str, Run]:
    book, path = _inputs(params)
    return {p.name: run_policy(p, book, path, params.seed) for p in POLICIES}


def simulate_feedback(params: Params, feedback: FeedbackParams) -> dict[str, FeedbackRun]:
    return {p.name: feedback_policy(p, params, feedback) for p in POLICIES}


def feedback_policy(policy: Policy, params: Params, feedback: FeedbackParams) -> FeedbackRun:
    book, path = _inputs(params)
    with crowd(policy, book, params.seed) as opened:
        return run_feedback(opened, path, market(), feedback.depth, feedback.feedback)


def _scenario(params: Params) -> dict[str, object]:
    return {
        "market": MARKET,
        "traders": params.traders,
        "seed": params.seed,
        "drop_pct": params.drop_ppm / 10_000,
        "crash_steps": CRASH_STEPS,
    }


def report(runs: dict[str, Run], params: Params) -> dict[str, object]:
    scenario = _scenario(params)
    return {name: {**summary(run), "params": scenario} for name, run in runs.items()}


def feedback_report(
    runs: dict[str, FeedbackRun], params: Params, feedback: FeedbackParams
) -> dict[str, object]:
    scenario = {**_scenario(params), **_stated(feedback)}
    return {name: {**feedback_summary(run), "params": scenario} for name, run in runs.items()}


def _stated(feedback: FeedbackParams) -> dict[str, object]:
    """The book and the index rule as the report states them."""
    depth, spec, ppm = feedback.depth, market(), units().fraction_scale
    return {
        "feedback_weight": feedback.feedback.weight_ppm / ppm,
        "book": {
            "levels_per_side": depth.levels,
            "first_level_bps": depth.half_spread_ppm / 100,
            "level_step_bps": depth.level_step_ppm / 100,
            "first_level_btc": float(from_size_units(depth.base_size)),
            "growth_per_level_btc": float(
                from_size_units(depth.base_size) * depth.growth_ppm / ppm
            ),
            "bid_btc_within_10_bps": float(from_size_units(depth.within(1_000, spec))),
            "bid_btc_within_50_bps": float(from_size_units(depth.within(5_000, spec))),
            "bid_btc_total": float(from_size_units(depth.within(depth.reach_ppm(), spec))),
            "replenishment": "the maker re-posts its whole ladder every round",
            "keeper_sale": "IOC at most "
            f"{DEFAULT_SLIPPAGE_PPM / 100} bps under the index, every round, "
            "until it has sold what it took over",
        },
        "max_rounds": MAX_ROUNDS,
        "opening_price": float(from_price_units(spec.index_price)),
    }
