"""Settle every engine fill of cluster mode until Ctrl-C or SIGTERM.

    perpdex settlement --deployment FILE --nats URL[,URL...] [--shards N] [--interval S]

It reads each shard's event stream with a durable consumer, settles the fills with the
operator key of the deployment file, and publishes each outcome (docs/architecture.md,
cluster mode).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from perpdex.cli.cluster_options import (
    add_cluster_arguments,
    cluster_layout,
    nats_urls,
    serve_until_signalled,
)

LOG_LEVEL = "info"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)
    parser.add_argument(
        "--interval", type=float, default=0.2, help="seconds between settlement rounds"
    )


def run(args: argparse.Namespace) -> int:
    from perpdex.chain.deployment import DeploymentFileError, load_deployment
    from perpdex.cluster.errors import JetStreamUnavailableError
    from perpdex.cluster.settlement_process import SettlementConfig, SettlementProcess

    try:
        config = SettlementConfig(
            deployment=load_deployment(args.deployment),
            nats=nats_urls(args),
            layout=cluster_layout(args),
            interval_s=args.interval,
        )
        return asyncio.run(serve_until_signalled(SettlementProcess(config)))
    except (DeploymentFileError, JetStreamUnavailableError, ValueError, OSError) as error:
        print(f"perpdex settlement: {error}", file=sys.stderr)
        return 1
