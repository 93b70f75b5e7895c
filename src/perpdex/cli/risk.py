"""Run the position manager of cluster mode until Ctrl-C or SIGTERM.

    perpdex risk --deployment FILE --nats URL[,URL...] [--shards N] [--interval S]

It folds the chain, follows every shard's journal and every settlement outcome, and sends
the engines what the chain makes of their orders (docs/architecture.md, cluster mode).
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
        "--interval", type=float, default=0.2, help="seconds between folds of the chain"
    )


def run(args: argparse.Namespace) -> int:
    from perpdex.chain.deployment import DeploymentFileError, load_deployment
    from perpdex.cluster.errors import JetStreamUnavailableError
    from perpdex.cluster.risk_process import RiskConfig, RiskProcess

    try:
        config = RiskConfig(
            deployment=load_deployment(args.deployment),
            nats=nats_urls(args),
            layout=cluster_layout(args),
            poll_interval_s=args.interval,
        )
        return asyncio.run(serve_until_signalled(RiskProcess(config)))
    except (DeploymentFileError, JetStreamUnavailableError, ValueError, OSError) as error:
        print(f"perpdex risk: {error}", file=sys.stderr)
        return 1
