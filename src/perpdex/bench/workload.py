"""Write the matching-engine workload of ``perpdex bench engine``: one JSON command a line.

    perpdex bench gen-orders --n 1000000 [--seed 1] [--accounts 1000] > build/orders.jsonl

One market; every number an integer (prices in ticks, sizes in lots)::

    {"op": "new", "id": 17, "account": 3, "side": "buy", "price": 100012, "size": 40,
     "tif": "GTC"}                      # tif: GTC, IOC, FOK or POST_ONLY
    {"op": "cancel", "id": 17}          # the order may be filled or cancelled already

The mix is a market maker's day around a mid price that walks one tick at a time: 30% of
commands cancel a random resting order; the new orders are mostly passive quotes near the
touch, some far from it, post-only quotes that would cross, takers that walk a few levels
(IOC or GTC) and fill-or-kills, often too large to fill. The sequence is a pure function of
(n, seed, accounts): the figures of ``docs/performance.md`` use seed 1.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

START_MID = 100_000
MID_STEPS = (-1, 0, 0, 1)
"""The mid's move before each command, in ticks (it stays put half of the time)."""
CANCEL_SHARE = 0.30
SIZES = (1, 1, 2, 5, 10, 20, 50, 100, 500)
"""Order sizes in lots, drawn uniformly (so one lot twice as often)."""


@dataclass(frozen=True, slots=True)
class OrderKind:
    """New orders drawn below ``upto`` (and above the previous kind's ``upto``)."""

    upto: float
    ticks: tuple[int, int]
    """How far from the mid (inclusive range)."""
    crossing: bool
    """Priced through the mid (toward the other side's quotes) rather than away from it."""
    tifs: tuple[str, ...]
    """Drawn uniformly when there are several."""


KINDS = (
    OrderKind(0.80, (1, 20), crossing=False, tifs=("GTC",)),  # passive, near the touch
    OrderKind(0.86, (50, 2_000), crossing=False, tifs=("GTC",)),  # resting far away
    OrderKind(0.90, (0, 3), crossing=True, tifs=("POST_ONLY",)),  # post-only that may cross
    OrderKind(0.98, (0, 15), crossing=True, tifs=("IOC", "GTC")),  # taker walking the book
    OrderKind(1.00, (0, 5), crossing=True, tifs=("FOK",)),  # fill-or-kill, often too large
)
RESTING_TIFS = frozenset({"GTC", "POST_ONLY"})
"""Orders that may rest, hence be named by a later cancel."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=1_000_000, help="commands to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=1_000, help="distinct account numbers")


def commands(n: int, seed: int = 1, accounts: int = 1_000) -> Iterator[dict[str, Any]]:
    """The workload's ``n`` commands as dicts, in order."""
    rnd = random.Random(seed)
    mid = START_MID
    cancellable: list[int] = []  # ids of GTC/POST_ONLY orders not yet cancelled here
    next_id = 1
    for _ in range(n):
        mid += rnd.choice(MID_STEPS)
        draw = rnd.random()
        if draw < CANCEL_SHARE and cancellable:
            # swap a random entry to the end, so removing it is O(1)
            index = rnd.randrange(len(cancellable))
            cancellable[index], cancellable[-1] = cancellable[-1], cancellable[index]
            yield {"op": "cancel", "id": cancellable.pop()}
            continue
        kind = next(k for k in KINDS if draw < k.upto)
        side = "buy" if rnd.random() < 0.5 else "sell"
        # away from the mid is down for a buy and up for a sell; crossing is the opposite
        away = -1 if side == "buy" else 1
        offset = rnd.randint(*kind.ticks)
        price = mid - away * offset if kind.crossing else mid + away * offset
        tif = kind.tifs[0] if len(kind.tifs) == 1 else rnd.choice(kind.tifs)
        size = rnd.choice(SIZES)
        account = rnd.randrange(accounts)
        yield {
            "op": "new",
            "id": next_id,
            "account": account,
            "side": side,
            "price": price,
            "size": size,
            "tif": tif,
        }
        if tif in RESTING_TIFS:
            cancellable.append(next_id)
        next_id += 1


def run(args: argparse.Namespace) -> int:
    if args.n < 0 or args.accounts < 1:
        print("error: --n must be >= 0 and --accounts >= 1", file=sys.stderr)
        return 2
    out = sys.stdout
    for command in commands(args.n, args.seed, args.accounts):
        out.write(json.dumps(command) + "\n")
    return 0
