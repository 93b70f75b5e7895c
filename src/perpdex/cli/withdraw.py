"""Withdraw collateral: request an amount, then execute it once the withdrawal delay passed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.cli.deposit import balances_table
from perpdex.sdk.options import add_trader_arguments, run_trader_command, wallet_of

if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("amount", nargs="?", help="USDC to request, e.g. 100")
    step = parser.add_mutually_exclusive_group()
    step.add_argument(
        "--execute", action="store_true", help="receive the pending request (once it is ready)"
    )
    step.add_argument("--cancel", action="store_true", help="drop the pending request")
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_trader_command(_run, args)


def _run(args: argparse.Namespace, deployment: Deployment) -> int:
    from perpdex.sdk.amounts import collateral_amount
    from perpdex.sdk.chain_client import ChainClient
    from perpdex.sdk.display import usdc, utc

    if (args.amount is None) == (not (args.execute or args.cancel)):
        raise ValueError("give an amount to request, or --execute, or --cancel")
    amount = None if args.amount is None else collateral_amount(args.amount)  # before any RPC
    client = ChainClient(deployment, wallet_of(args, deployment))
    if args.execute:
        print(f"withdrew {usdc(client.execute_withdrawal())}\n")
        print(balances_table(client))
    elif args.cancel:
        client.cancel_withdrawal()
        print("pending withdrawal cancelled")
    elif amount is not None:
        request = client.request_withdrawal(amount)
        wait = request.ready_at - client.block_time()
        print(
            f"withdrawal of {usdc(request.amount)} requested: ready at {utc(request.ready_at)} "
            f"(in {wait} s); then run `perpdex withdraw --execute`"
        )
    return 0
