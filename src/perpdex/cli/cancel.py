"""Cancel orders: by hash or all of them through the gateway, or by nonce on chain."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.sdk.options import (
    add_gateway_argument,
    add_trader_arguments,
    gateway_url,
    run_trader_command,
    wallet_of,
)

if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("order_hashes", nargs="*", metavar="ORDER_HASH", help="0x + 64 hex")
    parser.add_argument("--all", action="store_true", help="every open order of the wallet")
    parser.add_argument("--market", help="with --all through the gateway: only this market")
    parser.add_argument(
        "--on-chain",
        action="store_true",
        help="cancel in the Exchange contract (needs no gateway; --nonce N... or --all, which "
        "raises the nonce floor above every nonce this wallet used)",
    )
    parser.add_argument("--nonce", type=int, nargs="+", default=[], help="with --on-chain")
    add_gateway_argument(parser)
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_trader_command(_run, args)


def _run(args: argparse.Namespace, deployment: Deployment) -> int:
    import asyncio

    if args.on_chain:
        if args.order_hashes or args.market or (bool(args.nonce) == args.all):
            raise ValueError("--on-chain takes either --nonce N... or --all")
        return _on_chain(args, deployment)
    if args.nonce or (bool(args.order_hashes) == args.all):
        raise ValueError("give order hashes or --all (--nonce is for --on-chain)")
    return asyncio.run(_through_gateway(args, deployment))


def _on_chain(args: argparse.Namespace, deployment: Deployment) -> int:
    from perpdex.core.eip712 import Nonce
    from perpdex.sdk.chain_client import ChainClient
    from perpdex.sdk.nonces import trader_allocator

    client = ChainClient(deployment, wallet_of(args, deployment))
    if args.all:
        allocator = trader_allocator(
            deployment.chain_id, deployment.contracts.exchange, client.address
        )
        allocator.observe_floor(client.account(client.address).nonce_floor)
        floor = allocator.reserve_floor()
        client.raise_nonce_floor(floor)
        print(f"nonce floor raised to {floor}: every order signed below it is cancelled on chain")
    else:
        nonces = [Nonce(n) for n in args.nonce]
        client.cancel_orders(nonces)
        print(f"cancelled on chain: nonces {', '.join(map(str, nonces))}")
    return 0


async def _through_gateway(args: argparse.Namespace, deployment: Deployment) -> int:
    from perpdex.sdk.client import Client

    url, wallet = gateway_url(args, deployment), wallet_of(args, deployment)
    async with Client(url, wallet, deployment) as client:
        if args.all:
            count = await client.cancel_all(args.market)
            where = f"in {args.market}" if args.market else "in every market"
            print(f"cancelled {count} open order{'s' * (count != 1)} {where}")
        for order_hash in args.order_hashes:
            seq = await client.cancel(order_hash)
            print(f"cancelled {order_hash} (seq {seq})")
    return 0
