"""The options every process of cluster mode takes, so each can be started by hand on any
machine: ``--deployment FILE --nats URL[,URL...] [--shards N] [--replicas R] [--prefix P]``.
``perpdex cluster up`` passes the same ones to every service it starts."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the parser stays fast: nats loads when a command runs
    from perpdex.chain.deployment import Deployment
    from perpdex.cluster.streams import StreamLayout

DEFAULT_SHARDS = 2


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deployment", type=Path, required=True, help="the deployment file")
    add_layout_arguments(parser, nats_required=True)


def add_layout_arguments(parser: argparse.ArgumentParser, *, nats_required: bool) -> None:
    """The options of the cluster's streams; ``nats_required`` False for a command that also
    runs embedded (``perpdex keeper``), where ``--nats`` chooses cluster mode."""
    parser.add_argument(
        "--nats",
        required=nats_required,
        help="comma-separated URLs of the NATS JetStream servers"
        + ("" if nats_required else " (cluster mode)"),
    )
    parser.add_argument(
        "--shards", type=int, default=DEFAULT_SHARDS, help="engine shards of the layout"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        help="replicas of each stream (default: 3 when --nats names three servers or more, 1)",
    )
    parser.add_argument("--prefix", default="perpdex", help="subject prefix of the layout")


def nats_urls(args: argparse.Namespace) -> list[str]:
    return [url.strip() for url in str(args.nats).split(",") if url.strip()]


def cluster_layout(args: argparse.Namespace) -> StreamLayout:
    """The stream layout of the options; ValueError if they make none."""
    from perpdex.cluster.streams import StreamLayout

    replicas = args.replicas
    if replicas is None:
        replicas = 3 if len(nats_urls(args)) >= 3 else 1
    return StreamLayout(shards=args.shards, replicas=replicas, prefix=args.prefix)


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def serve_until_signalled(service: Service) -> int:
    """Start ``service``, run until SIGINT or SIGTERM, then stop it (also when the start
    fails part-way)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await service.start()
        await stop.wait()
    finally:
        await service.stop()
    return 0


def run_cluster_service(
    name: str,
    args: argparse.Namespace,
    build: Callable[[Deployment, list[str], StreamLayout], Service],
) -> int:
    """Build the service ``name`` from the cluster options and serve it until a signal;
    a deployment file, layout or NATS that does not do is one line on stderr, exit 1."""
    from perpdex.chain.deployment import DeploymentFileError, load_deployment
    from perpdex.cluster.errors import JetStreamUnavailableError

    try:
        service = build(load_deployment(args.deployment), nats_urls(args), cluster_layout(args))
        return asyncio.run(serve_until_signalled(service))
    except (DeploymentFileError, JetStreamUnavailableError, ValueError, OSError) as error:
        print(f"perpdex {name}: {error}", file=sys.stderr)
        return 1
