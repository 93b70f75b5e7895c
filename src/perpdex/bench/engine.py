"""Replay a `perpdex bench gen-orders` workload through the matching engine; print figures.

The whole file is parsed into commands first. Each command then goes through the real
sequencer and engine (self-trade prevention off: accounts are labels here); its latency is
measured with ``perf_counter_ns`` from hand-over to the sequencer until ``submit``
returns, i.e. after its last event. With ``--journal`` every command is also encoded,
hash-chained and written in groups (the flush of a group counts in the latency of the
command that fills it). ops/s is commands over the wall time of the whole loop, final
flush included.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
from pathlib import Path
from time import perf_counter_ns, process_time_ns
from typing import Any

import msgspec

from perpdex.core.types import Address, MarketId, OrderId, Price, Side, Size, TimeInForce
from perpdex.engine.book import Order
from perpdex.engine.clock import WallClock
from perpdex.engine.commands import Cancel, Command, NewOrder
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventSink
from perpdex.engine.journal import Journal
from perpdex.engine.sequencer import Sequencer
from perpdex.engine.verify import open_journal

MARKET = MarketId(0)
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_TIFS = {tif.value: tif for tif in TimeInForce}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--orders", type=Path, required=True, help="workload from `perpdex bench gen-orders`"
    )
    parser.add_argument("--fills", type=Path, help="write every fill here, one JSON per line")
    parser.add_argument(
        "--journal",
        type=Path,
        help="journal to this new file (SQLite if .sqlite or .db); an existing file is refused",
    )
    parser.add_argument("--fsync", action="store_true", help="fsync each journal group")
    parser.add_argument("--group-size", type=int, default=1024, help="journal group size")
    parser.add_argument(
        "--gc",
        action="store_true",
        help="keep the cyclic garbage collector on while timing (it is off by default: the "
        "engine makes no reference cycles, so the collector only adds pauses)",
    )


class FillRecorder(EventSink):
    """Keeps the fills; every other event is ignored."""

    def __init__(self) -> None:
        self.fills: list[tuple[NewOrder, NewOrder, int, int]] = []

    def filled(self, seq: int, taker: NewOrder, maker: Order, price: int, size: int) -> None:
        self.fills.append((taker, maker.command, price, size))


def load_workload(path: Path) -> list[Command]:
    decoder = msgspec.json.Decoder()
    accounts: dict[int, Address] = {}
    with open(path, "rb") as file:
        return [parse_row(decoder.decode(line), accounts) for line in file]


def parse_row(row: dict[str, Any], accounts: dict[int, Address]) -> Command:
    """One workload line as a command; ``accounts`` shares the Address of each number."""
    if row["op"] == "cancel":
        return Cancel(MARKET, OrderId(row["id"]))
    number = row["account"]
    account = accounts.get(number)
    if account is None:
        account = accounts[number] = Address(f"0x{number:040x}")
    return NewOrder(
        market=MARKET,
        order_id=OrderId(row["id"]),
        account=account,
        side=_SIDES[row["side"]],
        price=Price(row["price"]),
        size=Size(row["size"]),
        tif=_TIFS[row["tif"]],
    )


def new_journal(path: Path, *, fsync: bool = False) -> Journal:
    """A journal in a new file at ``path``: a benchmark never replaces a journal (the path
    may be a node's), so an existing file is a :class:`FileExistsError`."""
    if path.exists():
        raise FileExistsError(f"{path} exists: a benchmark journals to a new file only")
    return open_journal(path, fsync=fsync)


def percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def run(args: argparse.Namespace) -> int:
    try:
        journal = None if args.journal is None else new_journal(args.journal, fsync=args.fsync)
    except FileExistsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    commands = load_workload(args.orders)
    recorder = FillRecorder()
    engine = Engine([MarketConfig(MARKET)], recorder, self_trade_prevention=False)
    sequencer = Sequencer(engine, WallClock(), journal, group_size=args.group_size)

    submit = sequencer.submit
    clock = perf_counter_ns
    latencies = [0] * len(commands)
    gc.collect()
    gc.freeze()  # the workload is long-lived: keep it out of any collection
    if not args.gc:
        gc.disable()
    start = clock()
    cpu_start = process_time_ns()
    for i, command in enumerate(commands):
        began = clock()
        submit(command)
        latencies[i] = clock() - began
    sequencer.flush()
    elapsed = clock() - start
    cpu = process_time_ns() - cpu_start
    gc.enable()
    gc.unfreeze()

    latencies.sort()
    figures = {
        "orders": len(commands),
        "ops_per_s": round(len(commands) / (elapsed / 1e9)),
        "p50_us": percentile(latencies, 0.50) / 1000,
        "p99_us": percentile(latencies, 0.99) / 1000,
        "p999_us": percentile(latencies, 0.999) / 1000,
        "max_us": latencies[-1] / 1000,
        "fills": len(recorder.fills),
        "elapsed_s": round(elapsed / 1e9, 3),
        # CPU time of this process over the same loop: on a shared machine, elapsed_s also
        # counts time the process waited for a core
        "cpu_s": round(cpu / 1e9, 3),
        "journal": None if journal is None else str(args.journal),
        "gc": args.gc,
    }
    if journal is not None:
        figures["journal_seq"] = journal.head.seq
        figures["journal_head"] = "0x" + journal.head.head.hex()
        figures["fsync"] = args.fsync
        journal.close()
    if args.fills is not None:
        with open(args.fills, "w") as out:
            for taker, maker, price, size in recorder.fills:
                out.write(
                    f'{{"taker": {taker.order_id}, "maker": {maker.order_id}, '
                    f'"price": {price}, "size": {size}}}\n'
                )
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0
