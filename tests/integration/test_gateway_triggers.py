"""Trigger orders over the gateway's wire (a gateway on loopback over a fresh engine): a
signed stop is placed and held (an ``untriggered`` frame, nothing on the book), cannot be
amended while held, is released by the node's ``IndexPrice`` (a ``triggered`` frame, then
its fill), and an amend may not change a trigger; a signed cancel reaches a held order."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from tests.integration.gateway_testing import (
    DOMAIN,
    MAKER,
    TAKER,
    error_of,
    login,
    next_frame,
    placed,
    running_gateway,
    signed,
    url,
)
from websockets.asyncio.client import ClientConnection, connect

from perpdex.core.eip712 import Cancel, SignedOrder, UnixTime, sign_cancel, sign_order
from perpdex.core.types import MarketId, Price, TimeInForce, TriggerDirection
from perpdex.engine.commands import IndexPrice
from perpdex.gateway import protocol as wire
from perpdex.gateway.protocol import ErrorCode

BELOW = TriggerDirection.AT_OR_BELOW


def trigger(order: SignedOrder, price: int, direction: TriggerDirection = BELOW) -> SignedOrder:
    terms = replace(order.order, trigger_price=Price(price), trigger_direction=direction)
    return sign_order(terms, MAKER if terms.trader == MAKER.address else TAKER, DOMAIN)


def amend(old: SignedOrder, new: SignedOrder) -> bytes:
    return wire.encode_frame(
        wire.AmendRequest(
            order_hash=wire.hex0x(old.order_hash),
            order=wire.WireOrder.of(new.order),
            signature=wire.hex0x(new.signature.to_bytes()),
        )
    )


async def place_held(
    ws: ClientConnection, order: SignedOrder
) -> tuple[wire.Placed, wire.OrderUpdate]:
    """Places a trigger order: its ack, and its ``untriggered`` frame (which the account
    log sends as the engine accepts it, before the ack)."""
    await ws.send(wire.encode_frame(wire.PlaceRequest(
        order=wire.WireOrder.of(order.order), signature=wire.hex0x(order.signature.to_bytes())
    )).decode())  # fmt: skip
    frames = [await next_frame(ws), await next_frame(ws)]
    (ack,) = [f for f in frames if isinstance(f, wire.Placed)]
    (held,) = [f for f in frames if isinstance(f, wire.OrderUpdate)]
    return ack, held


async def subscribed(ws: ClientConnection) -> None:
    await ws.send('{"op":"subscribe","channel":"account"}')
    assert isinstance(await next_frame(ws), wire.Subscribed)


def test_a_stop_over_the_wire_is_held_refuses_amends_and_is_released_by_the_index() -> None:
    async def scenario() -> None:
        async with (
            running_gateway() as server,
            connect(url(server)) as maker,
            connect(url(server)) as taker,
        ):
            await login(maker, MAKER, 1)
            await subscribed(maker)
            await login(taker, TAKER, 1)
            stop = trigger(signed(MAKER, 2, is_buy=False, price=900, tif=TimeInForce.IOC), 950)
            ack, held = await place_held(maker, stop)
            assert (held.status, held.order_id, held.size) == (
                wire.OrderStatus.UNTRIGGERED,
                ack.order_id,
                1000,
            )
            book = server.gateway.engine.markets[MarketId(0)]
            assert len(book.held) == 1 and book.best_ask() is None

            moved = trigger(signed(MAKER, 3, is_buy=False, price=800, tif=TimeInForce.IOC), 950)
            refused = await error_of(maker, amend(stop, moved))
            assert (refused.code, refused.reason) == (ErrorCode.REJECTED, "not_triggered")
            other_trigger = trigger(
                signed(MAKER, 4, is_buy=False, price=900, tif=TimeInForce.IOC), 940
            )
            refused = await error_of(maker, amend(stop, other_trigger))
            assert refused.code is ErrorCode.MALFORMED  # an amend keeps the trigger

            await placed(taker, signed(TAKER, 2, is_buy=True, price=1000))  # the bid it hits
            server.gateway.submit_from_chain(IndexPrice(market=MarketId(0), price=Price(960)))
            server.gateway.submit_from_chain(IndexPrice(market=MarketId(0), price=Price(950)))
            triggered = await next_frame(maker)
            assert isinstance(triggered, wire.OrderUpdate)
            assert (triggered.status, triggered.index_price) == (wire.OrderStatus.TRIGGERED, 950)
            fill = await next_frame(maker)
            assert isinstance(fill, wire.Fill)
            assert (fill.order_id, fill.price, fill.maker) == (ack.order_id, 1000, False)

    asyncio.run(scenario())


def test_a_signed_cancel_reaches_a_held_order() -> None:
    async def scenario() -> None:
        async with running_gateway() as server, connect(url(server)) as ws:
            await login(ws, MAKER, 1)
            await subscribed(ws)
            take_profit = trigger(
                signed(MAKER, 2, is_buy=False, price=1100), 1050, TriggerDirection.AT_OR_ABOVE
            )
            await place_held(ws, take_profit)
            terms = Cancel(MAKER.address, take_profit.order_hash, UnixTime(int(time.time()) + 60))
            cancel = wire.CancelRequest(
                cancel=wire.WireCancel.of(terms),
                signature=wire.hex0x(sign_cancel(terms, MAKER, DOMAIN).signature.to_bytes()),
            )
            await ws.send(wire.encode_frame(cancel).decode())
            update = await next_frame(ws)
            assert isinstance(update, wire.OrderUpdate)
            assert (update.status, update.reason, update.size) == (
                wire.OrderStatus.CANCELLED,
                "requested",
                1000,
            )
            assert isinstance(await next_frame(ws), wire.Ack)
            assert len(server.gateway.engine.markets[MarketId(0)].held) == 0

    asyncio.run(scenario())
