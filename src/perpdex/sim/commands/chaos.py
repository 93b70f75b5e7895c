"""Bots trade through a ``perpdex up`` node that is SIGKILLed and restarted at seeded
moments; prints one JSON object (acked orders, lost, settled twice, unreported rejections,
stream gaps, off-chain equals chain) and exits 1 when an invariant fails. ``--soak``:
steady load for that many minutes with the node's memory sampled."""

from __future__ import annotations

import argparse
import json
import sys

from perpdex.cli.console import run_interruptible
from perpdex.sim.commands.market import add_bot_arguments, bot_errors


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of the node (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="kill moments, bots, prices (1)")
    parser.add_argument(
        "--duration", type=float, default=40.0, help="seconds of trading (default 40)"
    )
    parser.add_argument(
        "--soak",
        type=float,
        metavar="MINUTES",
        help="trade this many minutes instead of --duration and sample the node's memory",
    )
    parser.add_argument(
        "--sample-interval",
        type=float,
        default=30.0,
        help="with --soak: seconds between memory samples (default 30)",
    )
    add_bot_arguments(parser, takers=3, crowd=2, taker_interval_s=0.3)


def run(args: argparse.Namespace) -> int:
    """SIGTERM unwinds like Ctrl-C: the node and anvil are stopped on every exit path."""
    return run_interruptible(_run, args)


def _run(args: argparse.Namespace) -> int:
    # imported here: web3, the contracts and the services load slowly
    from perpdex.sim.chaos.report import passed, report
    from perpdex.sim.chaos.scenario import ChaosParams, run_chaos

    errors = []
    if args.kills < 0:
        errors.append("--kills must be 0 or more")
    if args.duration <= 0 or (args.soak is not None and args.soak <= 0):
        errors.append("--duration and --soak must be positive")
    if args.sample_interval <= 0:
        errors.append("--sample-interval must be positive")
    errors += bot_errors(args)
    if errors:
        print(f"perpdex sim chaos: {'; '.join(errors)}", file=sys.stderr)
        return 2
    params = ChaosParams(
        kills=args.kills,
        seed=args.seed,
        duration_s=args.duration if args.soak is None else args.soak * 60,
        takers=args.takers,
        crowd=args.crowd,
        taker_interval_s=args.taker_interval,
        sample_s=None if args.soak is None else args.sample_interval,
    )
    figures = report(params, run_chaos(params))
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0 if passed(figures) else 1
