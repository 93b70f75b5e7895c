"""Both policies on the same seeded book and crash, and their JSON report."""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.chain.markets import default_markets
from perpdex.sim.cascade.chain import MARKET, Policy, run_policy
from perpdex.sim.cascade.metrics import Run, summary
from perpdex.sim.cascade.scenario import crash_path, traders

POLICIES = (Policy("tiered", full_close=False), Policy("full", full_close=True))
CRASH_STEPS = 5


@dataclass(frozen=True, slots=True)
class Params:
    traders: int
    seed: int
    drop_ppm: int


def simulate(params: Params) -> dict[str, Run]:
    (spec,) = [m for m in default_markets() if m.symbol == MARKET]
    book = traders(params.traders, params.seed, spec.index_price, spec.lot_size)
    path = crash_path(spec.index_price, params.drop_ppm, CRASH_STEPS, params.seed, spec.tick_size)
    return {p.name: run_policy(p, book, path, params.seed) for p in POLICIES}


def report(runs: dict[str, Run], params: Params) -> dict[str, object]:
    scenario = {
        "market": MARKET,
        "traders": params.traders,
        "seed": params.seed,
        "drop_pct": params.drop_ppm / 10_000,
        "crash_steps": CRASH_STEPS,
    }
    return {name: {**summary(run), "params": scenario} for name, run in runs.items()}
