"""Run the exchange on a local chain with bots making and taking every market, until Ctrl-C
(``make demo``); ``--once``: one trade through the engine and the chain, then exit."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from perpdex.cli import demo_once
from perpdex.cli.console import run_interruptible
from perpdex.cli.up import DEFAULT_HTTP_PORT

# web3, vyper and the services load slowly: imported in run(), so `perpdex --help` is fast
if TYPE_CHECKING:
    from perpdex.bots.config import BotsConfig
    from perpdex.services.node import Node

LOG_LEVEL = "info"
"""The node's and the bots' lines: what the market does while the newcomer watches."""

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--once",
        action="store_true",
        help="one trade through the engine and the chain, printed, then exit",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="the bots' wallets and orders and the oracle's walk"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_HTTP_PORT,
        help="port of the web app and the HTTP API (0: any free port; the gateway takes "
        "any free port, written to the deployment file)",
    )
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after S seconds (default: at Ctrl-C)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="the node's state and the bots' nonces (default: a temporary folder, removed "
        "at exit with the chain it served)",
    )
    parser.add_argument(
        "--out", type=Path, help="deployment file to write (default: deployments/local.json)"
    )
    parser.add_argument("--anvil-log", type=Path, help="file for the started anvil's log")
    parser.add_argument(
        "--keep-running", action="store_true", help="--once: keep anvil up after the trade"
    )


def run(args: argparse.Namespace) -> int:
    live_only = args.duration is not None or args.state_dir is not None
    if live_only if args.once else args.keep_running:
        print(
            "error: --duration and --state-dir are the live demo's, --keep-running is --once's",
            file=sys.stderr,
        )
        return 2
    if args.once:
        return demo_once.run(args)
    return run_interruptible(_live, args)


def _live(args: argparse.Namespace) -> int:
    from perpdex.bots.config import BotsConfig
    from perpdex.bots.runner import credit_bots
    from perpdex.chain.anvil import Anvil
    from perpdex.cli.up import fresh_deployment, node_errors, serve
    from perpdex.services.node import NodeConfig

    config = BotsConfig(seed=args.seed)
    try:
        # exited in reverse: anvil stops before its (temporary) state folder goes
        with contextlib.ExitStack() as stack:
            state_dir: Path = args.state_dir or Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="perpdex-demo-"))
            )
            chain = stack.enter_context(Anvil(log_path=args.anvil_log))
            log.info("anvil at %s: deploying, then crediting the bots", chain.rpc_url)
            deployment = fresh_deployment(chain.rpc_url)
            credit_bots(deployment, config)
            chain.set_block_time(config.block_time_s)
            node = NodeConfig(
                state_dir=state_dir / "node",
                http_port=args.port,
                price_paths=config.price_walks(deployment.markets),
            )
            market = functools.partial(_market, config, state_dir / "bots")
            return asyncio.run(
                serve(deployment, node, args.out, beside=market, duration_s=args.duration)
            )
    except node_errors() as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


@contextlib.asynccontextmanager
async def _market(config: BotsConfig, nonces: Path, node: Node) -> AsyncIterator[None]:
    """The bots trading beside the started node; the web app's URL to watch them at."""
    from perpdex.bots.runner import trading

    async with trading(node.deployment, node.gateway.url, config, nonces):
        web = node.http.url
        print(
            f"\nlive market at {web}/ (operator dashboard: {web}/dashboard); press Ctrl-C to stop",
            flush=True,
        )
        yield
