"""Bots trading through a whole node on anvil (market maker, random takers, a crowd of
leveraged longs); the oracle walks, then crashes; the keeper liquidates and hedges on the
book. Prints settlement latency, the hedges and their price impact."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=1, help="path and bots seed (default 1)")
    parser.add_argument(
        "--crash", default="8", help="oracle crash in percent, 0 for none (default 8)"
    )
    parser.add_argument(
        "--crash-at", type=float, default=20.0, help="seconds into the run (default 20)"
    )
    parser.add_argument(
        "--after",
        type=float,
        default=15.0,
        help="seconds of trading after --crash-at (default 15)",
    )
    add_scenario_arguments(parser)
    parser.add_argument("--plot", type=Path, help="PNG of index, book mid and hedge fills")


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``perpdex bench settle`` shares."""
    parser.add_argument(
        "--block-time", type=int, default=1, help="seconds per block, 0: automine (default 1)"
    )
    add_bot_arguments(parser, takers=4, crowd=8, taker_interval_s=0.5)


def add_bot_arguments(
    parser: argparse.ArgumentParser, *, takers: int, crowd: int, taker_interval_s: float
) -> None:
    """The bots' options (``perpdex sim chaos`` shares them), with a command's defaults."""
    parser.add_argument(
        "--takers", type=int, default=takers, help=f"random takers (default {takers})"
    )
    parser.add_argument(
        "--crowd", type=int, default=crowd, help=f"leveraged longs (default {crowd})"
    )
    parser.add_argument(
        "--taker-interval",
        type=float,
        default=taker_interval_s,
        help=f"mean seconds between one taker's orders (default {taker_interval_s})",
    )


def crash_ppm(text: str) -> int:
    """A percentage with at most 4 decimals, from 0 up to (not including) 100, in ppm."""
    try:
        ppm = Decimal(text) * 10_000
    except InvalidOperation:
        raise ValueError(f"--crash {text!r} is not a number") from None
    if ppm != ppm.to_integral_value() or not 0 <= ppm < 1_000_000:
        raise ValueError("--crash must be a percentage from 0 to 100 (4 decimals at most)")
    return int(ppm)


def scenario_errors(args: argparse.Namespace) -> list[str]:
    errors = ["--block-time must be 0 or more"] if args.block_time < 0 else []
    return errors + bot_errors(args)


def bot_errors(args: argparse.Namespace) -> list[str]:
    """What is wrong with the options of :func:`add_bot_arguments`."""
    errors = []
    if args.takers < 0 or args.crowd < 0:
        errors.append("--takers and --crowd must be 0 or more")
    if args.taker_interval <= 0:
        errors.append("--taker-interval must be positive")
    return errors


def run(args: argparse.Namespace) -> int:
    # imported here: web3, the contracts and the services load slowly
    from perpdex.sim.market.report import report
    from perpdex.sim.market.scenario import MarketParams, run_market

    try:
        errors = scenario_errors(args)
        if errors:
            raise ValueError("; ".join(errors))
        if args.crash_at <= 0 or args.after <= 0:
            raise ValueError("--crash-at and --after must be positive")
        params = MarketParams(
            seed=args.seed,
            crash_ppm=crash_ppm(args.crash),
            crash_at_s=args.crash_at,
            after_s=args.after,
            block_time=args.block_time,
            takers=args.takers,
            crowd=args.crowd,
            taker_interval_s=args.taker_interval,
        )
    except ValueError as error:
        print(f"perpdex sim market: {error}", file=sys.stderr)
        return 2
    result = run_market(params)
    if args.plot is not None:
        from perpdex.sim.market.plot import plot_market

        plot_market(result, args.plot)
    json.dump(report(result), sys.stdout)
    sys.stdout.write("\n")
    return 0
