"""Show or set your leverage in a market (through the gateway): orders the account could
not carry at it are refused before they reach the book."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.cli.console import table
from perpdex.sdk.options import add_gateway_argument, add_trader_arguments, run_gateway_command

if TYPE_CHECKING:
    from perpdex.sdk.client import Client
    from perpdex.sdk.leverage import LeverageSetting


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("market", help="e.g. BTC-PERP")
    parser.add_argument(
        "leverage",
        nargs="?",
        help="the new leverage, e.g. 5 or 12.5 (1 to the market's maximum); omit to show it",
    )
    add_gateway_argument(parser)
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_gateway_command(_leverage, args)


async def _leverage(client: Client, args: argparse.Namespace) -> int:
    if args.leverage is None:
        setting = await client.leverage(args.market)
    else:
        setting = await client.set_leverage(args.market, args.leverage)
    print(leverage_table(setting))
    return 0


def leverage_table(setting: LeverageSetting) -> str:
    from perpdex.sdk.display import plain

    return table(
        ("market", "leverage", "maximum", "set by you"),
        [
            (
                setting.market,
                f"{plain(setting.leverage)}x",
                f"{plain(setting.max_leverage)}x",
                "yes" if setting.chosen else "no (the maximum)",
            )
        ],
    )
