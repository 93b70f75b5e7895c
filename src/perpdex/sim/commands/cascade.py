"""A sharp price drop on a crowded book of leveraged longs, on anvil with the real keeper:
tiered vs full-close liquidation, on a fixed price path or with the index following the
venue's own book (``--feedback``)."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perpdex.sim.cascade.simulate import FeedbackParams, Params

DEFAULT_PLOT = Path("build/cascade.png")
DEFAULT_DEPTH = "0.5"
"""BTC at the book's first level a side (``perpdex.sim.cascade.book.Depth``)."""
DEFAULT_WEIGHT = "1"
"""The book's weight in the index: the index follows the book alone."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--traders", type=int, default=20, help="leveraged longs (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="book and path seed (default 1)")
    parser.add_argument("--drop", default="12", help="price drop in percent (default 12)")
    parser.add_argument(
        "--plot", type=Path, default=DEFAULT_PLOT, help=f"PNG path (default {DEFAULT_PLOT})"
    )
    parser.add_argument(
        "--feedback",
        action="store_true",
        help="the index follows the venue's book, which the keeper's forced sales move",
    )
    # no argparse defaults: a value given without --feedback is refused, not ignored
    parser.add_argument(
        "--feedback-weight",
        help="with --feedback: the book's weight W in the index, "
        f"W * book + (1 - W) * external path (default {DEFAULT_WEIGHT})",
    )
    parser.add_argument(
        "--depth",
        help=f"with --feedback: BTC at the book's first level a side (default {DEFAULT_DEPTH})",
    )


def _decimal(text: str, flag: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{flag} {text!r} is not a number") from None


def drop_ppm(text: str) -> int:
    """A percentage with at most 4 decimals, strictly between 0 and 100, in ppm (exact)."""
    ppm = _decimal(text, "--drop") * 10_000
    if ppm != ppm.to_integral_value() or not 0 < ppm < 1_000_000:
        raise ValueError("--drop must be a percentage between 0 and 100 (4 decimals at most)")
    return int(ppm)


def weight_ppm(text: str) -> int:
    """A weight from 0 to 1 with at most 6 decimals, in ppm (exact)."""
    ppm = _decimal(text, "--feedback-weight") * 1_000_000
    if ppm != ppm.to_integral_value() or not 0 <= ppm <= 1_000_000:
        raise ValueError("--feedback-weight must be between 0 and 1 (6 decimals at most)")
    return int(ppm)


def run(args: argparse.Namespace) -> int:
    # imported here: they load web3, the contracts' units and matplotlib
    from perpdex.sim.cascade.simulate import Params

    try:
        if args.traders < 1:
            raise ValueError("--traders must be at least 1")
        params = Params(args.traders, args.seed, drop_ppm(args.drop))
        if not args.feedback and (args.depth, args.feedback_weight) != (None, None):
            raise ValueError("--depth and --feedback-weight need --feedback")
        feedback = _feedback_params(args) if args.feedback else None
    except ValueError as error:
        print(f"perpdex sim cascade: {error}", file=sys.stderr)
        return 2
    figures = _fixed_path(args, params) if feedback is None else _feedback(args, params, feedback)
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0


def _feedback_params(args: argparse.Namespace) -> FeedbackParams:
    from perpdex.core.units import to_size_units
    from perpdex.sim.cascade.book import Depth
    from perpdex.sim.cascade.feedback import Feedback
    from perpdex.sim.cascade.simulate import FeedbackParams, market

    base = _decimal(args.depth or DEFAULT_DEPTH, "--depth")
    depth = Depth(to_size_units(base))
    depth.ladder(market().index_price, market())  # refuses less than a lot
    weight = weight_ppm(args.feedback_weight or DEFAULT_WEIGHT)
    return FeedbackParams(Feedback(weight), depth)


def _fixed_path(args: argparse.Namespace, params: Params) -> dict[str, object]:
    from perpdex.sim.cascade.plot import plot_cascade
    from perpdex.sim.cascade.simulate import report, simulate

    runs = simulate(params)
    plot_cascade(runs, args.plot)
    return report(runs, params)


def _feedback(
    args: argparse.Namespace, params: Params, feedback: FeedbackParams
) -> dict[str, object]:
    from perpdex.sim.cascade.plot import plot_feedback
    from perpdex.sim.cascade.simulate import feedback_report, simulate_feedback

    runs = simulate_feedback(params, feedback)
    plot_feedback(runs, feedback, args.plot)
    return feedback_report(runs, params, feedback)
