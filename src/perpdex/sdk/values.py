"""What the SDK hands a trader: value objects in decimals, made from the gateway's frames
and the HTTP API's replies.

The WebSocket carries the contract's integers (price, size and collateral units); a trader
reads ``Decimal("99900")`` USD and ``Decimal("0.01")`` BTC, converted exactly
(:mod:`perpdex.core.units`, never rounded). Integers stay integers only where they count
or name something: sequence numbers, order ids, cursors. Markets are shown by symbol.
Each ``of`` below is the one conversion of its frame, so every method that returns that
kind of value converts it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

import msgspec

from perpdex.core.eip712 import Order
from perpdex.core.types import Collateral, MarketId, Price, Side, Size, TriggerDirection
from perpdex.core.units import (
    from_collateral_units,
    from_price_units,
    from_size_units,
    trimmed,
)
from perpdex.gateway import protocol as wire
from perpdex.http import models as api
from perpdex.sdk.chain_client import WithdrawalRequest
from perpdex.sdk.markets import Markets


def price(units: int) -> Decimal:
    """Price units -> USD per whole base unit."""
    return trimmed(from_price_units(Price(units)))


def size(units: int) -> Decimal:
    """Size units -> base asset."""
    return trimmed(from_size_units(Size(units)))


def collateral(units: int) -> Decimal:
    """Collateral units -> USDC."""
    return trimmed(from_collateral_units(Collateral(units)))


def utc_ms(ms: int) -> datetime:
    """Unix milliseconds -> an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def _side(is_buy: bool) -> Side:
    return Side.BUY if is_buy else Side.SELL


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A withdrawal request: ``amount`` USDC, executable from ``ready_at`` on."""

    amount: Decimal
    ready_at: datetime

    @classmethod
    def of(cls, request: WithdrawalRequest) -> Withdrawal:
        return cls(collateral(request.amount), datetime.fromtimestamp(request.ready_at, UTC))


class Level(NamedTuple):
    """One price level of a book: the total open ``size`` at ``price``."""

    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade at the maker's price; ``side`` is the taker's. ``seq`` is the journal
    seq of the command that traded; ``time`` is None on the live ``trades`` stream of an
    older gateway."""

    market: str
    seq: int
    price: Decimal
    size: Decimal
    side: Side
    time: datetime | None

    @classmethod
    def of_api(cls, symbol: str, trade: api.Trade) -> Trade:
        return cls(
            symbol,
            trade.seq,
            Decimal(trade.price),
            Decimal(trade.size),
            _side(trade.side == "buy"),
            utc_ms(trade.time),
        )

    @classmethod
    def of_frame(cls, markets: Markets, frame: wire.Trade) -> Trade:
        return cls(
            _symbol(markets, frame.market),
            frame.seq,
            price(frame.price),
            size(frame.size),
            _side(frame.taker_is_buy),
            utc_ms(frame.time) if frame.time else None,
        )


@dataclass(frozen=True, slots=True)
class Candle:
    """OHLCV of ``market``'s trades in ``[start, start + interval)``; ``trades`` counts
    them. Intervals without a trade have no candle."""

    market: str
    interval: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int

    @classmethod
    def of_api(cls, symbol: str, interval: str, candle: api.Candle) -> Candle:
        return cls(
            symbol,
            interval,
            utc_ms(candle.start),
            Decimal(candle.open),
            Decimal(candle.high),
            Decimal(candle.low),
            Decimal(candle.close),
            Decimal(candle.volume),
            candle.trades,
        )


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order of yours on the book now. ``order`` is the signed message it rests as (an
    amend's replacement): the terms an amend keeps."""

    market: str
    order_id: int
    order_hash: str
    client_id: str | None
    side: Side
    price: Decimal
    size: Decimal
    """The order's total size (an amend's new total)."""
    remaining: Decimal
    """What is still open on the book."""
    order: Order
    trigger_price: Decimal | None = None
    """A trigger order's (stop-loss, take-profit), as in :class:`OrderStatus`."""
    trigger_direction: TriggerDirection = TriggerDirection.NONE

    @classmethod
    def of_api(cls, open_order: api.OpenOrder) -> OpenOrder:
        signed = open_order.order.model_dump(by_alias=True)
        order = msgspec.convert(signed, wire.WireOrder).to_order()
        return cls(
            open_order.market,
            open_order.order_id,
            open_order.order_hash,
            open_order.client_id,
            _side(open_order.side == "buy"),
            Decimal(open_order.price),
            Decimal(open_order.size),
            Decimal(open_order.remaining),
            order,
            _decimal(open_order.trigger_price),
            TriggerDirection(open_order.trigger_direction),
        )


class OrderState(Enum):
    UNTRIGGERED = "untriggered"
    """A trigger order held off the book until the index price crosses its trigger."""
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    """Open, and part of it has traded."""
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """One of your orders as the gateway's history holds it (as of the last durable
    command): ``filled`` of ``size`` traded at ``average_price`` (None before a fill),
    ``reason`` why it left the book (cancelled: ``requested``, ``fill_rejected``, ...)."""

    market: str
    order_id: int
    order_hash: str
    client_id: str | None
    side: Side
    price: Decimal
    size: Decimal
    filled: Decimal
    average_price: Decimal | None
    state: OrderState
    reason: str | None
    seq: int
    """The journal seq of the command that placed it."""
    updated_seq: int
    trigger_price: Decimal | None = None
    """A trigger order's (stop-loss, take-profit); None for a plain order."""
    trigger_direction: TriggerDirection = TriggerDirection.NONE

    @property
    def remaining(self) -> Decimal:
        """What is still open (0 once the order is closed)."""
        return self.size - self.filled if self.state in _OPEN else Decimal(0)

    @classmethod
    def of_api(cls, order: api.HistoricalOrder) -> OrderStatus:
        state = OrderState(order.state)
        filled = Decimal(order.filled)
        if state is OrderState.OPEN and filled:
            state = OrderState.PARTIALLY_FILLED
        return cls(
            order.market,
            order.order_id,
            order.order_hash,
            order.client_id,
            _side(order.side == "buy"),
            Decimal(order.price),
            Decimal(order.size),
            filled,
            _decimal(order.average_price),
            state,
            order.reason,
            order.seq,
            order.updated_seq,
            _decimal(order.trigger_price),
            TriggerDirection(order.trigger_direction),
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """One of your orders traded ``size`` at ``price``; ``maker`` says on which side of the
    trade it was. ``account_seq`` numbers your account's events (resume and page by it)."""

    market: str
    seq: int
    account_seq: int
    order_id: int
    order_hash: str
    client_id: str | None
    side: Side
    price: Decimal
    size: Decimal
    maker: bool

    @classmethod
    def of(cls, markets: Markets, frame: wire.Fill) -> Fill:
        return cls(
            _symbol(markets, frame.market),
            frame.seq,
            frame.account_seq,
            frame.order_id,
            frame.order_hash,
            frame.client_id,
            _side(frame.is_buy),
            price(frame.price),
            size(frame.size),
            frame.maker,
        )

    @classmethod
    def of_api(cls, fill: api.Fill) -> Fill:
        return cls(
            fill.market,
            fill.seq,
            fill.account_seq,
            fill.order_id,
            fill.order_hash,
            fill.client_id,
            _side(fill.side == "buy"),
            Decimal(fill.price),
            Decimal(fill.size),
            fill.maker,
        )


@dataclass(frozen=True, slots=True)
class FillRejected:
    """A fill of yours (its ``Fill`` came earlier) that will never settle, and why: the
    positions no longer count it, and the rest of your order is cancelled only if the
    reason blames it (your counterparty's refusal leaves your order resting)."""

    market: str
    seq: int
    account_seq: int
    order_id: int | None
    """None: the order was not placed through this gateway."""
    order_hash: str
    client_id: str | None
    side: Side
    price: Decimal
    size: Decimal
    maker: bool
    reason: str

    @classmethod
    def of(cls, markets: Markets, frame: wire.FillRejected) -> FillRejected:
        return cls(
            _symbol(markets, frame.market),
            frame.seq,
            frame.account_seq,
            frame.order_id,
            frame.order_hash,
            frame.client_id,
            _side(frame.is_buy),
            price(frame.price),
            size(frame.size),
            frame.maker,
            frame.reason,
        )

    @classmethod
    def of_api(cls, refused: api.FillRejected) -> FillRejected:
        return cls(
            refused.market,
            refused.seq,
            refused.account_seq,
            refused.order_id,
            refused.order_hash,
            refused.client_id,
            _side(refused.side == "buy"),
            Decimal(refused.price),
            Decimal(refused.size),
            refused.maker,
            refused.reason,
        )


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """``size`` of your order left the book without trading: ``status`` cancelled or
    expired, ``reason`` why (``requested``, ``cancelled_on_chain``, ...); or a trigger order
    was held (``untriggered``) or released onto the book (``triggered``, at
    ``index_price``)."""

    market: str
    seq: int
    account_seq: int
    order_id: int
    order_hash: str
    client_id: str | None
    status: str
    size: Decimal
    reason: str | None
    index_price: Decimal | None = None

    @classmethod
    def of(cls, markets: Markets, frame: wire.OrderUpdate) -> OrderUpdate:
        return cls(
            _symbol(markets, frame.market),
            frame.seq,
            frame.account_seq,
            frame.order_id,
            frame.order_hash,
            frame.client_id,
            frame.status.value,
            size(frame.size),
            frame.reason,
            None if frame.index_price is None else price(frame.index_price),
        )

    @classmethod
    def of_api(cls, update: api.OrderUpdate) -> OrderUpdate:
        return cls(
            update.market,
            update.seq,
            update.account_seq,
            update.order_id,
            update.order_hash,
            update.client_id,
            update.status,
            Decimal(update.size),
            update.reason,
            _decimal(update.index_price),
        )


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """A position as the gateway's risk check counts it (settled and unsettled fills):
    ``size`` signed (negative: short), ``quote`` its signed quote leg in USDC."""

    market: str
    size: Decimal
    quote: Decimal
    isolated_margin: Decimal


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """Your margin as the gateway's risk check sees it, in USDC."""

    collateral: Decimal
    equity: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    positions: tuple[PositionFigures, ...]

    @classmethod
    def of(cls, markets: Markets, frame: wire.AccountUpdate) -> AccountUpdate:
        return cls(
            collateral(frame.collateral),
            collateral(frame.equity),
            collateral(frame.initial_margin),
            collateral(frame.maintenance_margin),
            tuple(
                PositionFigures(
                    _symbol(markets, p.market),
                    size(p.size),
                    collateral(p.quote),
                    collateral(p.isolated_margin),
                )
                for p in frame.positions
            ),
        )


AccountEvent = Fill | FillRejected | OrderUpdate
"""A numbered event of your account (``account_seq``): once each, in order."""


def account_event(markets: Markets, frame: wire.AccountEvent) -> AccountEvent:
    match frame:
        case wire.Fill():
            return Fill.of(markets, frame)
        case wire.FillRejected():
            return FillRejected.of(markets, frame)
        case wire.OrderUpdate():
            return OrderUpdate.of(markets, frame)


def api_account_event(event: api.Fill | api.FillRejected | api.OrderUpdate) -> AccountEvent:
    match event:
        case api.Fill():
            return Fill.of_api(event)
        case api.FillRejected():
            return FillRejected.of_api(event)
        case api.OrderUpdate():
            return OrderUpdate.of_api(event)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


_OPEN = (OrderState.UNTRIGGERED, OrderState.OPEN, OrderState.PARTIALLY_FILLED)


def _symbol(markets: Markets, market: int) -> str:
    return markets.id(MarketId(market)).symbol
