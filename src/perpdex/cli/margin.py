"""Move USDC into (add) or out of (remove) your isolated position in a market, on chain."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.sdk.options import add_trader_arguments, run_trader_command, wallet_of

if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "direction",
        choices=("add", "remove"),
        help="add: from the cross collateral into the position; remove: back to cross",
    )
    parser.add_argument("market", help="e.g. BTC-PERP (an open isolated position)")
    parser.add_argument("amount", help="USDC, a decimal with at most 6 decimals, e.g. 250.5")
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_trader_command(_run, args)


def _run(args: argparse.Namespace, deployment: Deployment) -> int:
    from perpdex.sdk import margin
    from perpdex.sdk.amounts import collateral_amount
    from perpdex.sdk.chain_client import ChainClient
    from perpdex.sdk.display import usdc
    from perpdex.sdk.markets import Markets

    amount = collateral_amount(args.amount)
    market = Markets(deployment.markets).symbol(args.market)
    client = ChainClient(deployment, wallet_of(args, deployment))
    move = margin.add_margin if args.direction == "add" else margin.remove_margin
    after = move(client, market, amount)
    verb = "added to" if args.direction == "add" else "removed from"
    print(f"{usdc(amount)} {verb} the isolated {market.symbol} position: margin {usdc(after)}")
    return 0
