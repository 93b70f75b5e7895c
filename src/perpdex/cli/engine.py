"""Run one engine shard of cluster mode: the only writer of the shard's journal and events.

    perpdex engine --shard K --deployment FILE --nats URL[,URL...] [--shards N] [--replicas R]

The layout options are every cluster process's (``cli/cluster_options.py``), with the
same defaults, so processes started by hand agree on the shards and replicas.

Serves the deployment's markets that ``market % N == K``; see perpdex.cluster.engine_process.
"""

from __future__ import annotations

import argparse
import asyncio

from perpdex.cli.cluster_options import add_cluster_arguments, cluster_layout, nats_urls

LOG_LEVEL = "info"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard", type=int, required=True, help="the shard to serve (0-based)")
    add_cluster_arguments(parser)
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
    from perpdex.chain.deployment import load_deployment
    from perpdex.cluster.engine_process import EngineProcessConfig, run_engine
    from perpdex.cluster.streams import ShardId
    from perpdex.risk.from_chain import deployment_domain, engine_markets

    deployment = load_deployment(args.deployment)
    config = EngineProcessConfig(
        shard=ShardId(args.shard),
        servers=tuple(nats_urls(args)),
        layout=cluster_layout(args),
        markets=tuple(engine_markets(deployment)),
        domain=deployment_domain(deployment),
        batch_max=args.batch,
        book_deltas=args.book_deltas,
        flush_timeout_s=args.flush_timeout,
        snapshot_every=args.snapshot_every,
    )
    return asyncio.run(run_engine(config))
