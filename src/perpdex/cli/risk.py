"""Run the position manager of cluster mode until Ctrl-C or SIGTERM.

    perpdex risk --deployment FILE --nats URL[,URL...] [--shards N] [--interval S]

It folds the chain, follows every shard's journal and every settlement outcome, and sends
the engines what the chain makes of their orders (docs/architecture.md, cluster mode).
"""

from __future__ import annotations

import argparse

from perpdex.cli.cluster_options import add_cluster_arguments, run_cluster_service

LOG_LEVEL = "info"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)
    parser.add_argument(
        "--interval", type=float, default=0.2, help="seconds between folds of the chain"
    )


def run(args: argparse.Namespace) -> int:
    from perpdex.cluster.risk_process import RiskConfig, RiskProcess

    return run_cluster_service(
        "risk",
        args,
        lambda deployment, nats, layout: RiskProcess(
            RiskConfig(deployment, nats, layout, poll_interval_s=args.interval)
        ),
    )
