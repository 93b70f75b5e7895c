"""A sharp price drop on a crowded book of leveraged longs, on anvil with the real keeper:
tiered vs full-close liquidation."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEFAULT_PLOT = Path("build/cascade.png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--traders", type=int, default=20, help="leveraged longs (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="book and path seed (default 1)")
    parser.add_argument("--drop", default="12", help="price drop in percent (default 12)")
    parser.add_argument(
        "--plot", type=Path, default=DEFAULT_PLOT, help=f"PNG path (default {DEFAULT_PLOT})"
    )


def drop_ppm(text: str) -> int:
    """A percentage with at most 4 decimals, strictly between 0 and 100, in ppm (exact)."""
    try:
        ppm = Decimal(text) * 10_000
    except InvalidOperation:
        raise ValueError(f"--drop {text!r} is not a number") from None
    if ppm != ppm.to_integral_value() or not 0 < ppm < 1_000_000:
        raise ValueError("--drop must be a percentage between 0 and 100 (4 decimals at most)")
    return int(ppm)


def run(args: argparse.Namespace) -> int:
    # imported here: they load web3, the contracts' units and matplotlib
    from perpdex.sim.cascade.plot import plot_cascade
    from perpdex.sim.cascade.simulate import Params, report, simulate

    try:
        if args.traders < 1:
            raise ValueError("--traders must be at least 1")
        params = Params(args.traders, args.seed, drop_ppm(args.drop))
    except ValueError as error:
        print(f"perpdex sim cascade: {error}", file=sys.stderr)
        return 2
    runs = simulate(params)
    plot_cascade(runs, args.plot)
    json.dump(report(runs, params), sys.stdout)
    sys.stdout.write("\n")
    return 0
