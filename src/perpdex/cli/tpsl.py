"""Attach a stop-loss and/or take-profit to your position in a market (reduce-only
trigger orders of its whole size; the node cancels them when the position closes)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.sdk.options import add_gateway_argument, add_trader_arguments, run_gateway_command

if TYPE_CHECKING:
    from perpdex.sdk.client import Client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from perpdex.sdk.triggers import DEFAULT_TRIGGER_SLIPPAGE

    parser.add_argument("market", help="e.g. BTC-PERP")
    parser.add_argument("--stop-loss", metavar="PRICE", help="index price that closes at a loss")
    parser.add_argument(
        "--take-profit", metavar="PRICE", help="index price that closes at a profit"
    )
    parser.add_argument(
        "--slippage",
        default=DEFAULT_TRIGGER_SLIPPAGE,
        help="how far past its trigger each may fill, a fraction "
        f"(default {DEFAULT_TRIGGER_SLIPPAGE})",
    )
    add_gateway_argument(parser)
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_gateway_command(_attach, args, check=_some_trigger)


def _some_trigger(args: argparse.Namespace) -> None:
    if args.stop_loss is None and args.take_profit is None:
        raise ValueError("give --stop-loss, --take-profit or both")


async def _attach(client: Client, args: argparse.Namespace) -> int:
    from perpdex.cli.order import describe

    placed = await client.set_tpsl(
        args.market, args.stop_loss, args.take_profit, slippage=args.slippage
    )
    for order in placed:
        print(describe(client, order))
    return 0
