"""Show an account's collateral, margin and open positions, as the Exchange contract holds them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.cli.console import table
from perpdex.sdk.options import add_trader_arguments, run_trader_command, wallet_of

if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment
    from perpdex.core.types import Address
    from perpdex.sdk.chain_client import ChainReader, PositionState


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address", help="any trader's address (default: the wallet of the key options)"
    )
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_trader_command(_run, args)


def _run(args: argparse.Namespace, deployment: Deployment) -> int:
    from eth_utils.address import is_address, to_checksum_address

    from perpdex.core.types import Address
    from perpdex.sdk.chain_client import ChainReader

    if args.address is None:
        trader = wallet_of(args, deployment).address
    elif is_address(args.address):
        trader = Address(to_checksum_address(args.address))
    else:
        raise ValueError(f"{args.address!r} is not an address")
    print(format_account(ChainReader(deployment), trader))
    return 0


def format_account(client: ChainReader, trader: Address) -> str:
    """The account summary and one row per open position."""
    from perpdex.sdk.display import usdc

    account = client.account(trader)
    health = client.cross_health(trader)
    summary = table(
        ("account", "collateral", "equity", "initial margin", "maintenance margin"),
        [
            (
                trader,
                usdc(account.collateral),
                usdc(health.equity),
                usdc(health.initial),
                usdc(health.maintenance),
            )
        ],
    )
    positions = client.positions(trader)
    if not positions:
        return f"{summary}\n\nno open positions"
    rows = [_position_row(client, position) for position in positions]
    header = ("market", "side", "size", "entry (with fees)", "mark", "unrealised PnL", "margin")
    return f"{summary}\n\n{table(header, rows)}"


def _position_row(client: ChainReader, position: PositionState) -> tuple[str, ...]:
    from decimal import Decimal

    from perpdex.core.margin import value
    from perpdex.core.types import Size
    from perpdex.core.units import from_collateral_units, from_size_units
    from perpdex.sdk.display import plain, price_text, size_text, usdc

    mark = client.mark_price(position.market)
    size = position.size
    # display only: what the position cost per unit, fees included, to the cent
    entry = -from_collateral_units(position.quote) / from_size_units(size) if size else None
    return (
        position.market.symbol,
        "long" if size > 0 else "short" if size < 0 else "flat",
        size_text(Size(abs(size))),
        "" if entry is None else plain(entry.quantize(Decimal("0.01"))),
        price_text(mark),
        usdc(value(size, position.quote, mark)),
        f"isolated {usdc(position.isolated_margin)}" if position.isolated else "cross",
    )
