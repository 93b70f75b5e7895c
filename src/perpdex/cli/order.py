"""Place a signed limit order through the gateway and show what it filled."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.cli.console import table
from perpdex.sdk.options import add_gateway_argument, add_trader_arguments, run_gateway_command

if TYPE_CHECKING:
    from perpdex.sdk.client import Client, PlacedOrder
    from perpdex.sdk.subscriptions import AccountEvent, Subscription
    from perpdex.sdk.values import Fill

TIME_IN_FORCE = {"gtc": "GTC", "ioc": "IOC", "fok": "FOK", "post-only": "POST_ONLY"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("side", choices=("buy", "sell"))
    parser.add_argument("size", help="in the base asset, e.g. 0.01 (a multiple of the lot)")
    parser.add_argument("market", help="e.g. BTC-PERP")
    parser.add_argument(
        "--price", required=True, help="limit price in USD (the worst price for an IOC)"
    )
    parser.add_argument("--tif", choices=tuple(TIME_IN_FORCE), default="gtc")
    parser.add_argument("--reduce-only", action="store_true")
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="isolated margin (default cross; a --reduce-only order takes its position's mode)",
    )
    parser.add_argument("--ttl", type=int, default=86_400, help="seconds until the order expires")
    parser.add_argument("--client-id", help="your id for the order (idempotency key)")
    trigger = parser.add_mutually_exclusive_group()
    trigger.add_argument(
        "--trigger-above",
        metavar="PRICE",
        help="a trigger order: held off the book until the index price is at or above PRICE",
    )
    trigger.add_argument(
        "--trigger-below",
        metavar="PRICE",
        help="a trigger order (a long's stop-loss): held until the index is at or below PRICE",
    )
    add_wait_argument(parser)
    add_gateway_argument(parser)
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_gateway_command(_place, args)


async def _place(client: Client, args: argparse.Namespace) -> int:
    from perpdex.core.types import MarginMode, TimeInForce

    account = await client.account()  # before placing: fills can follow at once
    placed = await client.place(
        args.market,
        args.side,
        args.size,
        args.price,
        time_in_force=TimeInForce[TIME_IN_FORCE[args.tif]],
        reduce_only=args.reduce_only,
        margin_mode=MarginMode.ISOLATED if args.isolated else None,
        ttl_s=args.ttl,
        client_id=args.client_id,
        trigger_price=args.trigger_above or args.trigger_below,
        trigger=_trigger(args),
    )
    await show_placed(client, account, placed, args.wait, "no fills yet (the order rests)")
    return 0


def add_wait_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait", type=float, default=1.0, help="seconds to wait for fills (default 1)"
    )


async def show_placed(
    client: Client,
    account: Subscription[AccountEvent],
    placed: PlacedOrder,
    wait_s: float,
    unfilled: str,
) -> None:
    """Print the placed order, then its fills arriving within ``wait_s`` (or ``unfilled``);
    ``account`` was subscribed before placing, as fills can follow at once."""
    print(describe(client, placed))
    fills = await fills_of(account, placed, wait_s)
    print("\n" + (fills_table(fills) if fills else unfilled))


def describe(client: Client, placed: PlacedOrder) -> str:
    from perpdex.core.types import TriggerDirection
    from perpdex.sdk.display import plain, price_text

    order = placed.signed.order
    symbol = client.markets.id(order.market).symbol
    side = "buy" if order.is_buy else "sell"
    trigger = ""
    if order.is_trigger:
        above = order.trigger_direction is TriggerDirection.AT_OR_ABOVE
        where = "at or above" if above else "at or below"
        trigger = f", held until the index is {where} {price_text(order.trigger_price)}"
    return "\n".join(
        (
            f"placed {side} {plain(placed.size)} {symbol} @ {price_text(order.limit_price)} "
            f"{order.time_in_force.value}{trigger}",
            table(
                ("order hash", "nonce", "order id", "seq"),
                [("0x" + placed.order_hash.hex(), str(order.nonce), str(placed.order_id),
                  str(placed.seq))],
            ),
        )
    )  # fmt: skip


def _trigger(args: argparse.Namespace) -> str | None:
    if args.trigger_above:
        return "above"
    return "below" if args.trigger_below else None


async def fills_of(
    account: Subscription[AccountEvent], placed: PlacedOrder, wait_s: float
) -> list[Fill]:
    """This order's fills arriving within ``wait_s``; stops early once it is done."""
    import asyncio
    import contextlib

    from perpdex.gateway.protocol import hex0x
    from perpdex.sdk.values import Fill, OrderUpdate

    order_hash = hex0x(placed.order_hash)
    fills: list[Fill] = []

    async def collect() -> None:
        async for event in account:
            if isinstance(event, OrderUpdate) and event.order_hash == order_hash:
                return  # cancelled, expired or amended: no more fills
            if isinstance(event, Fill) and event.order_hash == order_hash:
                fills.append(event)
                if sum(fill.size for fill in fills) >= placed.size:
                    return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(collect(), wait_s)
    return fills


def fills_table(fills: list[Fill]) -> str:
    from perpdex.core.types import Side
    from perpdex.sdk.display import plain

    return table(
        ("fill", "side", "price", "size", "role"),
        [
            (
                str(i),
                "buy" if fill.side is Side.BUY else "sell",
                plain(fill.price),
                plain(fill.size),
                "maker" if fill.maker else "taker",
            )
            for i, fill in enumerate(fills, start=1)
        ],
    )
