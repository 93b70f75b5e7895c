"""Run NATS JetStream servers on loopback (one node, or a cluster of three) with the
streams of a market layout, until Ctrl-C or SIGTERM.

    perpdex cluster nats [--nodes 3] [--shards 2] [--store DIR] [--sync-always]

Prints one JSON line first: the client URLs, each node's pid, the streams' replicas and
names, so services started by hand (``--nats URL``) and tests can join. A node that exits
(killed by hand to watch a failover) is reported and the rest keep running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from perpdex.cli.console import run_interruptible

if TYPE_CHECKING:  # the parser stays fast: nats loads in run()
    from perpdex.cluster.streams import StreamLayout

LOG_LEVEL = "info"
_POLL_S = 0.5

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", type=int, default=3, help="1, or an odd number ≥ 3 (default 3)")
    parser.add_argument(
        "--shards", type=int, default=2, help="engine shards of the stream layout (default 2)"
    )
    parser.add_argument(
        "--store", type=Path, help="keep the streams in this directory (default: a temporary one)"
    )
    parser.add_argument(
        "--sync-always", action="store_true", help="fsync every write before acknowledging it"
    )


def run(args: argparse.Namespace) -> int:
    return run_interruptible(_serve, args)


def _serve(args: argparse.Namespace) -> int:
    from perpdex.cluster.nats_server import NatsCluster, NatsConfig
    from perpdex.cluster.streams import StreamLayout

    try:
        config = NatsConfig(nodes=args.nodes, store_dir=args.store, sync_always=args.sync_always)
        layout = StreamLayout(shards=args.shards, replicas=config.replicas)
    except ValueError as error:
        print(f"perpdex cluster nats: {error}", file=sys.stderr)
        return 2
    with NatsCluster(config) as cluster:
        asyncio.run(_create_streams(cluster.urls, layout))
        nodes = range(config.nodes)
        print(
            json.dumps(
                {
                    "urls": cluster.urls,
                    "pids": [cluster.pid(node) for node in nodes],
                    "replicas": layout.replicas,
                    "streams": [stream.name for stream in layout.configs()],
                }
            ),
            flush=True,
        )
        reported: set[int] = set()
        try:
            while len(reported) < config.nodes:
                for node in nodes:
                    if node not in reported and not cluster.running(node):
                        reported.add(node)
                        log.warning("nats node %d exited (log: %s)", node, cluster.log_path(node))
                time.sleep(_POLL_S)
        except KeyboardInterrupt:
            log.info("stopping the nats nodes")
            return 0
    print("perpdex cluster nats: every node exited", file=sys.stderr)
    return 1


async def _create_streams(urls: list[str], layout: StreamLayout) -> None:
    from perpdex.cluster.streams import ensure_streams
    from perpdex.cluster.transport import connect

    client = await connect(urls, name="perpdex cluster nats")
    try:
        await ensure_streams(client.jetstream(), layout)
    finally:
        await client.close()
