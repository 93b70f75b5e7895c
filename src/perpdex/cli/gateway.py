"""Run a gateway of cluster mode until Ctrl-C or SIGTERM.

    perpdex gateway --deployment FILE --nats URL[,URL...] [--shards N] [--port P]

It replicates every shard from its journal, folds the chain into its own position manager
(the pre-trade check), and answers a command once JetStream holds it (``unavailable``
while JetStream cannot take it). Run two side by side on two ports.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from perpdex.cli.cluster_options import (
    add_cluster_arguments,
    cluster_layout,
    nats_urls,
    serve_until_signalled,
)

LOG_LEVEL = "info"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)
    parser.add_argument("--name", default="gateway-0", help="unique among the gateways")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state-dir", type=Path, help="where traders' leverage caps are kept")
    parser.add_argument(
        "--web-url",
        help="the HTTP API (a reader) plain HTTP requests here are pointed at, which is how"
        " the SDK finds it from the gateway's URL",
    )
    parser.add_argument(
        "--verify-workers", type=int, default=1, help="signature-checking processes"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=2.0,
        help="seconds an answer waits for the engine to apply its command (default 2)",
    )


def run(args: argparse.Namespace) -> int:
    from web3.exceptions import Web3Exception

    from perpdex.chain.deployment import DeploymentFileError, load_deployment
    from perpdex.cluster.errors import JetStreamUnavailableError
    from perpdex.cluster.gateway_process import GatewayConfig, GatewayProcess

    try:
        config = GatewayConfig(
            deployment=load_deployment(args.deployment),
            nats=nats_urls(args),
            layout=cluster_layout(args),
            name=args.name,
            host=args.host,
            port=args.port,
            state_dir=args.state_dir,
            verify_workers=args.verify_workers,
            wait_s=args.wait,
            web_url=args.web_url,
        )
        return asyncio.run(serve_until_signalled(GatewayProcess(config)))
    except (
        DeploymentFileError,
        JetStreamUnavailableError,
        Web3Exception,
        ValueError,
        OSError,
    ) as error:
        print(f"perpdex gateway: {error}", file=sys.stderr)
        return 1
