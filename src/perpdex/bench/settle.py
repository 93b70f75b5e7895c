"""Match to settled on anvil: the market sim's scenario without the crash (``perpdex sim
market --crash 0``), stopped after ``--fills`` engine fills; prints the seconds from each
engine ``Filled`` event to the settlement runner's ``Settled`` outcome (p50, p99, max),
and the settlement transactions it took. ``--block-time 0`` is anvil's automine (a block
per transaction), 1 one-second blocks as on a real chain."""

from __future__ import annotations

import argparse
import json
import sys

from perpdex.sim.commands.market import add_scenario_arguments, scenario_errors

DEFAULT_FILLS = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fills", type=int, default=DEFAULT_FILLS, help=f"fills to match (default {DEFAULT_FILLS})"
    )
    parser.add_argument("--seed", type=int, default=1, help="path and bots seed (default 1)")
    add_scenario_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from perpdex.sim.market.report import report
    from perpdex.sim.market.scenario import MarketParams, run_market

    errors = scenario_errors(args) + (["--fills must be positive"] if args.fills < 1 else [])
    if errors:
        print(f"perpdex bench settle: {'; '.join(errors)}", file=sys.stderr)
        return 2
    params = MarketParams(
        seed=args.seed,
        crash_ppm=0,
        fills=args.fills,
        block_time=args.block_time,
        takers=args.takers,
        crowd=args.crowd,
        taker_interval_s=args.taker_interval,
    )
    figures = report(run_market(params))
    keys = (
        "fills",
        "fills_settled",
        "fills_rejected",
        "match_to_settled_s",
        "settlement_transactions",
        "fills_per_transaction",
        "offchain_equals_chain",
        "timings_s",
    )
    print(json.dumps({"block_time_s": args.block_time, **{key: figures[key] for key in keys}}))
    return 0
