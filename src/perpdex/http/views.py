"""The engine's and the gateway's values as the API shows them: pure conversions from the
contract's integers and the wire frames to the API's models (:mod:`.models`), with
markets by symbol (``symbols``: id -> symbol)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import msgspec

from perpdex.core.units import units
from perpdex.gateway import protocol as wire
from perpdex.gateway.position_view import ENTRY_DECIMALS, position_view, rounded_down
from perpdex.gateway.queries import OpenOrder as LiveOrder
from perpdex.gateway.risk import PositionFigures
from perpdex.gateway.tape import Candle, PublicTrade
from perpdex.http import models
from perpdex.http.amounts import price_text, size_text


def side(is_buy: bool) -> models.Side:
    """An order's side, or a trade's taker's."""
    return "buy" if is_buy else "sell"


def optional_price(price: int) -> str | None:
    """A trigger price: 0 (a plain order) is none."""
    return price_text(price) if price else None


def position(symbols: dict[int, str], figures: PositionFigures) -> models.Position:
    view = msgspec.to_builtins(position_view(figures))
    view["market"] = symbols[view["market"]]
    return models.Position.model_validate(view)


def open_order(symbols: dict[int, str], live: LiveOrder) -> models.OpenOrder:
    order = live.order
    return models.OpenOrder(
        market=symbols[live.market],
        order_id=live.order_id,
        order_hash=live.order_hash,
        client_id=live.client_id,
        side=side(order.is_buy),
        price=price_text(order.limit_price),
        size=size_text(order.size),
        remaining=size_text(live.remaining),
        reduce_only=order.reduce_only,
        trigger_price=optional_price(order.trigger_price),
        trigger_direction=order.trigger_direction,
        order=models.OrderMessage.model_validate(msgspec.to_builtins(order)),
    )


def historical_order(
    symbols: dict[int, str], order: wire.HistoricalOrder
) -> models.HistoricalOrder:
    average = (
        None
        if not order.filled
        else rounded_down(
            Fraction(order.filled_value, order.filled * 10 ** units().price_decimals),
            ENTRY_DECIMALS,
        )
    )
    return models.HistoricalOrder(
        market=symbols[order.market],
        order_id=order.order_id,
        order_hash=order.order_hash,
        client_id=order.client_id,
        side=side(order.is_buy),
        price=price_text(order.price),
        size=size_text(order.size),
        filled=size_text(order.filled),
        average_price=average,
        state=order.state.value,
        reason=order.reason,
        seq=order.seq,
        updated_seq=order.updated_seq,
        trigger_price=optional_price(order.trigger_price),
        trigger_direction=order.trigger_direction,
    )


def _traded(symbols: dict[int, str], frame: wire.Fill | wire.FillRejected) -> dict[str, Any]:
    """The fields a fill and a refused fill share, in the units a person reads."""
    return {
        "seq": frame.seq,
        "account_seq": frame.account_seq,
        "market": symbols[frame.market],
        "order_id": frame.order_id,
        "order_hash": frame.order_hash,
        "client_id": frame.client_id,
        "side": side(frame.is_buy),
        "price": price_text(frame.price),
        "size": size_text(frame.size),
        "maker": frame.maker,
    }


def account_event(
    symbols: dict[int, str], frame: wire.AccountEvent
) -> models.Fill | models.FillRejected | models.OrderUpdate:
    match frame:
        case wire.Fill():
            return models.Fill(**_traded(symbols, frame))
        case wire.FillRejected():
            return models.FillRejected(**_traded(symbols, frame), reason=frame.reason)
        case wire.OrderUpdate():
            return models.OrderUpdate(
                seq=frame.seq,
                account_seq=frame.account_seq,
                market=symbols[frame.market],
                order_id=frame.order_id,
                order_hash=frame.order_hash,
                client_id=frame.client_id,
                status=frame.status.value,
                size=size_text(frame.size),
                reason=frame.reason,
                index_price=None if frame.index_price is None else price_text(frame.index_price),
            )


def trade(kept: PublicTrade) -> models.Trade:
    return models.Trade(
        seq=kept.seq,
        time=kept.time,
        price=price_text(kept.price),
        size=size_text(kept.size),
        side=side(kept.taker_is_buy),
    )


def candle(kept: Candle) -> models.Candle:
    return models.Candle(
        start=kept.start,
        open=price_text(kept.open),
        high=price_text(kept.high),
        low=price_text(kept.low),
        close=price_text(kept.close),
        volume=size_text(kept.volume),
        trades=kept.trades,
    )
