"""What every trader command of the ``perpdex`` CLI shares: the deployment file, the key, and
one-line errors instead of tracebacks.

Kept light at import (argparse only): the CLI imports every command module to build its
parser, and the chain libraries load in :func:`run_trader_command`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment
    from perpdex.sdk.client import Client
    from perpdex.sdk.keys import Wallet

KEY_ENV = "PERPDEX_KEY"
DEMO_ROLES = ("trader", "maker")
"""Funded demo wallets of a local deployment that ``--wallet`` may pick."""


def add_trader_arguments(parser: argparse.ArgumentParser, *, needs_key: bool = True) -> None:
    """``--deployment`` and, if ``needs_key``, the key options."""
    parser.add_argument(
        "--deployment",
        type=Path,
        default=Path("deployments") / "local.json",
        help="deployment file (default: deployments/local.json)",
    )
    if not needs_key:
        return
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--key", help=f"private key, 0x-hex (prefer ${KEY_ENV}: a command line is visible in ps)"
    )
    keys.add_argument(
        "--wallet",
        choices=DEMO_ROLES,
        help="a demo wallet of a local deployment (its well-known dev key)",
    )


def add_gateway_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gateway", help="gateway WebSocket URL (default: gateway_url of the deployment file)"
    )


def gateway_url(args: argparse.Namespace, deployment: Deployment) -> str:
    url: str | None = args.gateway or deployment.gateway_url
    if not url:
        raise ValueError("no gateway URL: pass --gateway ws://HOST:PORT (the deployment has none)")
    return url


def run_trader_command(
    body: Callable[[argparse.Namespace, Deployment], int], args: argparse.Namespace
) -> int:
    """Load the deployment and run ``body``; any error the trader can act on is printed as
    ``error: ...`` (exit 1), a Ctrl-C as ``interrupted`` (exit 130)."""
    from web3.exceptions import Web3Exception

    from perpdex.chain.deployment import DeploymentFileError, load_deployment
    from perpdex.sdk.errors import SdkError

    try:
        return body(args, load_deployment(args.deployment))
    except (SdkError, DeploymentFileError, ValueError, OSError, Web3Exception) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_gateway_command(
    body: Callable[[Client, argparse.Namespace], Awaitable[int]],
    args: argparse.Namespace,
    check: Callable[[argparse.Namespace], None] | None = None,
) -> int:
    """:func:`run_trader_command` of ``body`` with the wallet's :class:`Client` connected
    to the gateway (``--gateway``, else the deployment's); ``check`` refuses bad input
    before anything connects."""

    def connect_and_run(args: argparse.Namespace, deployment: Deployment) -> int:
        import asyncio

        if check is not None:
            check(args)
        return asyncio.run(_connected(body, args, deployment))

    return run_trader_command(connect_and_run, args)


async def _connected(
    body: Callable[[Client, argparse.Namespace], Awaitable[int]],
    args: argparse.Namespace,
    deployment: Deployment,
) -> int:
    from perpdex.sdk.client import Client

    url, wallet = gateway_url(args, deployment), wallet_of(args, deployment)
    async with Client(url, wallet, deployment) as client:
        return await body(client, args)


def wallet_of(args: argparse.Namespace, deployment: Deployment) -> Wallet:
    """The wallet chosen by ``--key``, ``--wallet`` or ``$PERPDEX_KEY``, in that order."""
    from perpdex.chain.deployment import Role
    from perpdex.sdk.errors import InvalidKeyError
    from perpdex.sdk.keys import Wallet

    if args.wallet is not None:
        demo = next((w for w in deployment.wallets if w.role is Role(args.wallet)), None)
        if demo is None or not demo.local_only or demo.private_key is None:
            raise InvalidKeyError(f"the deployment holds no demo key for the {args.wallet} wallet")
        return Wallet.from_private_key(demo.private_key)
    key = args.key or os.environ.get(KEY_ENV)
    if not key:
        raise InvalidKeyError(f"no key: pass --wallet trader|maker, --key, or set ${KEY_ENV}")
    return Wallet.from_private_key(key)
