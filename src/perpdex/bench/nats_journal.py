"""The engine journal's commit rate and latency on JetStream (one node, and a three-node
cluster with three replicas) beside the file journal (with and without fsync), in one run;
prints one JSON object.

    perpdex bench nats-journal [--commits 1000] [--groups 1,100]

A commit is what the sequencer does per group: ``append`` the group's entries, then
``flush`` until they are durable. ``--groups`` are the group sizes measured (1: a journal
that commits every command alone, the latency a gateway's ack waits for; larger: group
commit under load). Entries are the engine benchmark's orders (``perpdex bench
gen-orders``, seed 1), encoded as the sequencer journals them. Per store and group size:
``entries_per_s`` and the commit latency (p50, p99) in microseconds. The servers are
started on loopback by this command (``NatsCluster``), as ``perpdex cluster up`` will.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from perpdex.bench.engine import parse_row, percentile
from perpdex.bench.workload import commands
from perpdex.core.types import Address
from perpdex.engine.codec import encode
from perpdex.engine.file_journal import FileJournal
from perpdex.engine.journal import Journal

DEFAULT_COMMITS = 1_000
DEFAULT_GROUPS = "1,100"
_TIME_MS = 1_800_000_000_000  # every entry's stamp: the figures do not depend on the clock

Store = Callable[[], Journal]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--commits",
        type=int,
        default=DEFAULT_COMMITS,
        help=f"commits per store and group size (default {DEFAULT_COMMITS})",
    )
    parser.add_argument(
        "--groups",
        default=DEFAULT_GROUPS,
        help=f"entries per commit, comma-separated (default {DEFAULT_GROUPS})",
    )


def run(args: argparse.Namespace) -> int:
    try:
        groups = [int(size) for size in args.groups.split(",")]
    except ValueError:
        groups = []
    if args.commits < 1 or not groups or min(groups) < 1:
        print(
            "perpdex bench nats-journal: --commits and --groups must be positive", file=sys.stderr
        )
        return 2
    entries = _entries(args.commits * max(groups))
    figures: dict[str, Any] = {"commits": args.commits, "groups": groups}
    with _stores() as stores:
        for name, store in stores.items():
            figures[name] = {
                str(group): measure(store, entries[: args.commits * group], group)
                for group in groups
            }
    print(json.dumps(figures))
    return 0


def measure(store: Store, entries: list[bytes], group: int) -> dict[str, float]:
    """Commit ``entries`` (numbered from 1) to a new journal in groups of ``group``."""
    journal = store()
    latencies: list[int] = []
    start = perf_counter_ns()
    for first in range(0, len(entries), group):
        batch = entries[first : first + group]
        began = perf_counter_ns()
        journal.append(batch)
        journal.flush()
        latencies.append(perf_counter_ns() - began)
    elapsed = perf_counter_ns() - start
    journal.close()
    latencies.sort()
    return {
        "entries_per_s": round(len(entries) / (elapsed / 1e9)),
        "commit_p50_us": round(percentile(latencies, 0.50) / 1000, 1),
        "commit_p99_us": round(percentile(latencies, 0.99) / 1000, 1),
    }


@contextmanager
def _stores() -> Iterator[dict[str, Store]]:
    """Each store makes a journal of its own (a new file, a new shard's stream)."""
    from perpdex.cluster.journal import JetStreamJournal
    from perpdex.cluster.nats_server import NatsCluster, NatsConfig
    from perpdex.cluster.streams import ShardId, StreamLayout

    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="perpdex-bench-")))
        made = iter(range(1_000_000))

        def file_store(fsync: bool) -> Store:
            return lambda: FileJournal(directory / f"journal-{next(made)}.bin", fsync=fsync)

        def nats_store(nodes: int) -> Store:
            config = NatsConfig(nodes=nodes)
            cluster = stack.enter_context(NatsCluster(config))
            layout = StreamLayout(shards=1_000, replicas=config.replicas)
            return lambda: JetStreamJournal(cluster.urls, layout, ShardId(next(made)))

        yield {
            "file": file_store(fsync=False),
            "file_fsync": file_store(fsync=True),
            "jetstream_1_node": nats_store(1),
            "jetstream_3_nodes_r3": nats_store(3),
        }


def _entries(count: int) -> list[bytes]:
    """``count`` journal entries of the engine benchmark's orders (numbered from 1)."""
    accounts: dict[int, Address] = {}
    return [
        encode(seq, _TIME_MS, parse_row(row, accounts))
        for seq, row in enumerate(commands(count, seed=1), 1)
    ]
