"""Settle every engine fill of cluster mode until Ctrl-C or SIGTERM.

    perpdex settlement --deployment FILE --nats URL[,URL...] [--shards N] [--interval S]

It reads each shard's event stream with a durable consumer, settles the fills with the
operator key of the deployment file, and publishes each outcome (docs/architecture.md,
cluster mode).
"""

from __future__ import annotations

import argparse

from perpdex.cli.cluster_options import add_cluster_arguments, run_cluster_service

LOG_LEVEL = "info"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)
    parser.add_argument(
        "--interval", type=float, default=0.2, help="seconds between settlement rounds"
    )


def run(args: argparse.Namespace) -> int:
    from perpdex.cluster.settlement_process import SettlementConfig, SettlementProcess

    return run_cluster_service(
        "settlement",
        args,
        lambda deployment, nats, layout: SettlementProcess(
            SettlementConfig(deployment, nats, layout, interval_s=args.interval)
        ),
    )
