"""Deposit collateral (USDC) from the wallet into the Exchange."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.cli.console import table
from perpdex.sdk.options import add_trader_arguments, run_trader_command, wallet_of

if TYPE_CHECKING:  # web3 and the chain modules load in run(): the parser stays fast
    from perpdex.chain.deployment import Deployment
    from perpdex.sdk.chain_client import ChainClient


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("amount", help="USDC, a decimal with at most 6 decimals, e.g. 250.5")
    parser.add_argument(
        "--faucet",
        action="store_true",
        help="mint the amount from the mock USDC faucet first (local deployments)",
    )
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_trader_command(_run, args)


def _run(args: argparse.Namespace, deployment: Deployment) -> int:
    from perpdex.sdk.amounts import collateral_amount
    from perpdex.sdk.chain_client import ChainClient
    from perpdex.sdk.display import usdc

    amount = collateral_amount(args.amount)
    client = ChainClient(deployment, wallet_of(args, deployment))
    if args.faucet:
        client.faucet(amount)
    receipt = client.deposit(amount)
    print(f"deposited {usdc(amount)} (tx {receipt['transactionHash'].to_0x_hex()})\n")
    print(balances_table(client))
    return 0


def balances_table(client: ChainClient) -> str:
    """The wallet's collateral in the Exchange and in the wallet itself."""
    from perpdex.sdk.display import usdc

    return table(
        ("wallet", "exchange collateral", "wallet balance"),
        [
            (
                client.address,
                usdc(client.account(client.address).collateral),
                usdc(client.wallet_balance(client.address)),
            )
        ],
    )
