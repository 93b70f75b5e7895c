"""Close your position in a market at market: one reduce-only IOC of its whole size."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.cli.order import add_wait_argument
from perpdex.sdk.options import add_gateway_argument, add_trader_arguments, run_gateway_command

if TYPE_CHECKING:
    from perpdex.sdk.client import Client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from perpdex.sdk.triggers import DEFAULT_CLOSE_SLIPPAGE

    parser.add_argument("market", help="e.g. BTC-PERP")
    parser.add_argument(
        "--slippage",
        default=DEFAULT_CLOSE_SLIPPAGE,
        help=f"worst price from the mark price, a fraction (default {DEFAULT_CLOSE_SLIPPAGE})",
    )
    add_wait_argument(parser)
    add_gateway_argument(parser)
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_gateway_command(_close, args)


async def _close(client: Client, args: argparse.Namespace) -> int:
    from perpdex.cli.order import show_placed

    account = await client.account()  # before placing: fills can follow at once
    placed = await client.close_position(args.market, args.slippage)
    if placed is None:
        print(f"no position in {args.market}")
        return 0
    unfilled = (
        "nothing filled at the worst price above: the position is open"
        " (a larger --slippage reaches deeper into the book)"
    )
    await show_placed(client, account, placed, args.wait, unfilled)
    return 0
