"""Run the market-data / HTTP reader of cluster mode until Ctrl-C or SIGTERM.

    perpdex reader --deployment FILE --nats URL[,URL...] [--shards N] [--port P]
                   [--gateway-url URL]

It serves the HTTP API and the web app (books, trades, candles, accounts, open orders,
history, health, metrics) from replicas of every shard and its own fold of the chain; it
accepts no orders (docs/architecture.md, cluster mode).
"""

from __future__ import annotations

import argparse

from perpdex.cli.cluster_options import add_cluster_arguments, run_cluster_service

LOG_LEVEL = "info"
DEFAULT_PORT = 8770
"""``perpdex cluster up``'s: its gateways take the ports from 8765 on."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)
    parser.add_argument("--name", default="reader", help="its record on the status board")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--gateway-url", help="where the web page sends orders (default: the deployment file's)"
    )


def run(args: argparse.Namespace) -> int:
    from perpdex.cluster.reader_process import ReaderConfig, ReaderProcess

    return run_cluster_service(
        "reader",
        args,
        lambda deployment, nats, layout: ReaderProcess(
            ReaderConfig(
                deployment,
                nats,
                layout,
                name=args.name,
                host=args.host,
                port=args.port,
                gateway_url=args.gateway_url,
            )
        ),
    )
