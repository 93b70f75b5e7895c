"""Start the whole exchange on one machine: anvil, the contracts and every service."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from perpdex.cli.console import run_interruptible
from perpdex.cli.keeper import add_price_path_arguments, price_paths

# web3, vyper and the services load slowly: imported in run(), so `perpdex --help` is fast
if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment
    from perpdex.services.node import Node, NodeConfig

LOG_LEVEL = "info"
"""An operator's default: restarts, rejected fills and failures, with their causes."""
DEFAULT_STATE_DIR = Path("build") / "state"
DEFAULT_PORT = 8765
DEFAULT_HTTP_PORT = 8766


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpc-url", help="run against this node instead of starting anvil")
    parser.add_argument(
        "--deployment", type=Path, help="with --rpc-url: the deployment file to serve"
    )
    parser.add_argument(
        "--out", type=Path, help="deployment file to write (default: deployments/local.json)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="root of the node's state: one folder per chain (journal, settlement cursor), "
        "locked while the node runs; never emptied",
    )
    parser.add_argument("--host", default="127.0.0.1", help="gateway address")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="gateway port")
    parser.add_argument(
        "--http-port",
        type=int,
        default=DEFAULT_HTTP_PORT,
        help="port of the HTTP API and the web app (same address as the gateway)",
    )
    parser.add_argument(
        "--verify-workers",
        type=int,
        default=1,
        help="processes recovering order signatures (0: on the gateway's loop)",
    )
    parser.add_argument(
        "--checkpoint-interval", type=float, default=10.0, help="seconds between checkpoints"
    )
    parser.add_argument("--anvil-log", type=Path, help="file for the started anvil's log")
    add_price_path_arguments(parser, default=". Default: prices stay put")
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between the keeper's price pushes and liquidator polls",
    )
    parser.add_argument(
        "--keeper-mode",
        choices=("hold", "hedge"),
        default="hold",
        help="what the keeper does with positions it liquidates (hedge: reduce-only IOC "
        "orders on this gateway's book; default hold)",
    )


def run(args: argparse.Namespace) -> int:
    return run_interruptible(_run, args)


def _run(args: argparse.Namespace) -> int:
    from perpdex.chain.anvil import Anvil
    from perpdex.chain.deployment import load_deployment
    from perpdex.services.node import NodeConfig
    from perpdex.services.state import StateLock

    if (args.rpc_url is None) != (args.deployment is None):
        print("error: --rpc-url and --deployment go together", file=sys.stderr)
        return 2
    config = NodeConfig(
        state_dir=args.state_dir,
        host=args.host,
        port=args.port,
        http_port=args.http_port,
        verify_workers=args.verify_workers,
        checkpoint_interval_s=args.checkpoint_interval,
        keeper_interval_s=args.interval,
        keeper_mode=args.keeper_mode,
    )
    try:
        # fail before starting anvil and deploying: the node itself takes the lock
        StateLock(config.state_dir).ensure_free()
        if args.rpc_url is not None:
            deployment = replace(load_deployment(args.deployment), rpc_url=args.rpc_url)
            config = replace(config, price_paths=price_paths(args, deployment))
            return asyncio.run(serve(deployment, config, args.out or args.deployment))
        with Anvil(log_path=args.anvil_log) as node:
            deployment = fresh_deployment(node.rpc_url)
            config = replace(config, price_paths=price_paths(args, deployment))
            return asyncio.run(serve(deployment, config, args.out))
    except node_errors() as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def node_errors() -> tuple[type[Exception], ...]:
    """What starting a chain, deploying and running a node may fail with, for a one-line
    ``error:`` (also ``perpdex demo``'s)."""
    from web3.exceptions import Web3Exception

    from perpdex.chain.anvil import AnvilError
    from perpdex.chain.deployment import DeploymentFileError
    from perpdex.chain.transact import TransactionFailedError
    from perpdex.keeper.price_path import PricePathError
    from perpdex.services.state import StateDirLockedError

    return (
        AnvilError,
        StateDirLockedError,
        DeploymentFileError,
        PricePathError,
        KeyError,
        TransactionFailedError,
        ConnectionError,
        OSError,
        Web3Exception,
        ValueError,
    )


Beside = Callable[["Node"], AbstractAsyncContextManager[object]]
"""What runs while the node serves, given the started node (``perpdex demo``'s bots)."""


@contextlib.asynccontextmanager
async def _alone(node: Node) -> AsyncIterator[None]:
    yield


def fresh_deployment(rpc_url: str) -> Deployment:
    """Deploy to a new chain, with the keeper posting checkpoints (so the operator's nonces
    are the batcher's alone) and holding collateral (the liquidator must meet initial
    margin after taking a position over). The node keeps the state of each chain apart
    (``services/state.py``): an older chain's journal is kept, never replayed here."""
    from perpdex.chain.anvil import dev_accounts
    from perpdex.chain.deploy import bind, demo_funding, demo_wallets, deploy, fund
    from perpdex.chain.deployment import Role
    from perpdex.chain.transact import connect, send

    deployment = deploy(rpc_url, demo_wallets(dev_accounts()))
    web3 = connect(rpc_url)
    contracts = bind(web3, deployment)
    admin = deployment.wallet(Role.ADMIN).account()
    keeper = deployment.wallet(Role.KEEPER).account()
    send(web3, admin, contracts.checkpoints.functions.set_operator(keeper.address))
    fund(web3, contracts, keeper, demo_funding())
    return deployment


async def serve(
    deployment: Deployment,
    config: NodeConfig,
    out: Path | None,
    *,
    beside: Beside = _alone,
    duration_s: float | None = None,
) -> int:
    """Run every service until Ctrl-C or SIGTERM (or for ``duration_s``), then stop them
    in order: what runs ``beside`` the node first, then the node."""
    from perpdex.chain.deployment import DEFAULT_DEPLOYMENT_PATH, write_deployment
    from perpdex.cli.deploy import format_deployment
    from perpdex.services.node import Node

    node = Node(deployment, config)
    await node.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        served = replace(deployment, gateway_url=node.gateway.url, web_url=node.http.url)
        path = write_deployment(served, out or DEFAULT_DEPLOYMENT_PATH)
        print(format_deployment(served))
        print(f"\ndeployment file: {path}")
        print(f"journal: {node.state.journal}")
        print(
            f"\ngateway listening on {node.gateway.url}; web app and HTTP API at"
            f" {node.http.url}; press Ctrl-C to stop",
            flush=True,
        )
        async with beside(node):
            if duration_s is not None:
                loop.call_later(duration_s, stop.set)
            await stop.wait()
            print("stopping", flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await node.stop()
    return 0
