"""Slippage of one market order on the order book vs an oracle-priced pool (GMX v2-style)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_NOTIONAL = "500000"
DEFAULT_PLOT = Path("build/amm_vs_book.png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notional",
        default=DEFAULT_NOTIONAL,
        help=f"market order size in USDC (default {DEFAULT_NOTIONAL})",
    )
    parser.add_argument(
        "--side", choices=("buy", "sell"), default="buy", help="order side (default buy)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the market maker's sizes (default 1)"
    )
    parser.add_argument(
        "--amm-skew",
        default="0",
        help="pool open interest, longs minus shorts, in USDC before the trade (default 0)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=DEFAULT_PLOT,
        help=f"PNG of slippage against trade size (default {DEFAULT_PLOT})",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="print one JSON object per trade size of the plot, not only --notional",
    )


def run(args: argparse.Namespace) -> int:
    # imported here: they compile the units module and load matplotlib
    from perpdex.core.types import Side
    from perpdex.core.units import to_collateral_units
    from perpdex.sim.amm_vs_book import DEFAULT_NOTIONALS, default_setup, report, sweep
    from perpdex.sim.plot import plot_slippage

    try:
        notional = to_collateral_units(args.notional)
        skew = to_collateral_units(args.amm_skew)
        if notional <= 0:
            raise ValueError("--notional must be positive")
        setup = default_setup(args.seed, Side.BUY if args.side == "buy" else Side.SELL, skew)
        results = sweep(setup, (*DEFAULT_NOTIONALS, notional))
    except ValueError as error:  # bad amounts (malformed, inexact, not positive) included
        print(f"perpdex sim amm-vs-book: {error}", file=sys.stderr)
        return 2
    plot_slippage(results, setup, args.plot, notional)
    printed = results if args.sweep else [r for r in results if r.notional == notional]
    for item in printed:
        json.dump(report(item, setup), sys.stdout)
        sys.stdout.write("\n")
    return 0
