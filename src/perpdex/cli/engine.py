"""Run one engine shard of cluster mode: the only writer of the shard's journal and events.

    perpdex engine --shard K --deployment FILE --nats URL[,URL...] [--shards N] [--replicas R]

Serves the deployment's markets that ``market % N == K``; see perpdex.cluster.engine_process.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

LOG_LEVEL = "info"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard", type=int, required=True, help="the shard to serve (0-based)")
    parser.add_argument(
        "--deployment", type=Path, help="deployment file (default: deployments/local.json)"
    )
    parser.add_argument("--nats", required=True, help="comma-separated NATS URLs")
    parser.add_argument("--shards", type=int, default=1, help="engine shards in all (default 1)")
    parser.add_argument(
        "--replicas", type=int, default=1, help="copies of each stream: 1, 3 or 5 (default 1)"
    )
    parser.add_argument("--prefix", default="perpdex", help="subject and stream name prefix")
    parser.add_argument(
        "--batch", type=int, default=1024, help="commands per journal group at most"
    )
    parser.add_argument("--book-deltas", action="store_true", help="publish BookDelta events too")
    parser.add_argument(
        "--snapshot-every",
        type=int,
        default=100_000,
        help="journal entries between snapshots of the engine (0: none; default 100000)",
    )
    parser.add_argument(
        "--flush-timeout",
        type=float,
        default=15.0,
        help="seconds a journal flush waits for JetStream before it is retried (default 15: "
        "rides through a stream leader's election)",
    )


def run(args: argparse.Namespace) -> int:
    from perpdex.chain.deployment import DEFAULT_DEPLOYMENT_PATH, load_deployment
    from perpdex.cluster.engine_process import EngineProcessConfig, run_engine
    from perpdex.cluster.streams import ShardId, StreamLayout
    from perpdex.risk.from_chain import engine_markets

    deployment = load_deployment(args.deployment or DEFAULT_DEPLOYMENT_PATH)
    config = EngineProcessConfig(
        shard=ShardId(args.shard),
        servers=tuple(url for url in args.nats.split(",") if url),
        layout=StreamLayout(shards=args.shards, replicas=args.replicas, prefix=args.prefix),
        markets=tuple(engine_markets(deployment)),
        batch_max=args.batch,
        book_deltas=args.book_deltas,
        flush_timeout_s=args.flush_timeout,
        snapshot_every=args.snapshot_every,
    )
    return asyncio.run(run_engine(config))
