"""Show an account's collateral, margin and open positions: through the gateway (with
unsettled fills, entry price apart from fees, unrealised PnL, margin ratio, liquidation
price and leverage) when the deployment names one or ``--gateway`` does, else as the
Exchange contract holds them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.cli.console import table
from perpdex.sdk.options import (
    add_gateway_argument,
    add_trader_arguments,
    run_trader_command,
    wallet_of,
)

if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment
    from perpdex.core.types import Address
    from perpdex.http.models import Account
    from perpdex.sdk.chain_client import ChainReader, PositionState


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address", help="any trader's address (default: the wallet of the key options)"
    )
    add_gateway_argument(parser)
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
    url = args.gateway or deployment.gateway_url
    if url:
        from perpdex.http.models import Account
        from perpdex.sdk.gateway_http import discover_http_url, http_get

        read = http_get(discover_http_url(url), f"/accounts/{trader}", Account)
        print(format_figures(trader, read))
    else:
        print(format_account(ChainReader(deployment), trader))
    return 0


def format_figures(trader: Address, read: Account) -> str:
    """The gateway's account summary and each position's figures."""
    if read.collateral is None:
        return f"{trader}: no account known to the gateway"
    summary = table(
        ("account", "collateral", "equity", "initial margin", "maintenance margin"),
        [
            (
                trader,
                f"{read.collateral} USDC",
                f"{read.equity} USDC",
                f"{read.initial_margin} USDC",
                f"{read.maintenance_margin} USDC",
            )
        ],
    )
    if not read.positions:
        return f"{summary}\n\nno open positions"
    header = (
        "market", "side", "size", "entry", "fees paid", "mark", "unrealised PnL", "margin",
        "margin ratio", "liquidation", "leverage",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = []
    for p in read.positions:
        margin = f"isolated {p.isolated_margin}" if p.margin_mode == "isolated" else "cross"
        rows.append(
            (
                p.market,
                "short" if p.size.startswith("-") else "long",
                p.size.removeprefix("-"),
                p.entry_price or "?",
                p.fees_paid or "?",
                p.mark_price or "?",
                p.unrealised_pnl or "?",
                margin,
                p.margin_ratio or "-",
                p.liquidation_price or "none",
                f"{p.leverage}x",
            )
        )
    return f"{summary}\n\n{table(header, rows)}"


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
