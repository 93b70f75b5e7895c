"""What the engine tells the world, in order.

The engine calls an injected :class:`EventSink` with plain arguments, so that nothing is
allocated for output nobody reads (the benchmark's sink only keeps fills). Arguments are
valid only during the call: ``Order`` objects keep changing. :class:`EventBus` is the sink
for services: it turns each call into an immutable typed event and hands it to every
subscriber. Every event carries the sequence number of the command that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from perpdex.core.types import Address, MarketId, OrderId, Side
from perpdex.engine.book import Order
from perpdex.engine.commands import Command, NewOrder, RejectedFill
from perpdex.engine.errors import CancelReason, RejectReason


class EventSink:
    """Receives the engine's output; every method does nothing unless overridden.

    ``book_deltas`` is read once, when an engine is built: False spares the engine the call
    after every change of a price level's size.
    """

    book_deltas = False

    def accepted(self, seq: int, order: NewOrder) -> None:
        """``order`` states the accepted terms (a reduce-only order's size may be clipped)."""

    def rejected(self, seq: int, command: Command, reason: RejectReason) -> None:
        pass

    def filled(self, seq: int, taker: NewOrder, maker: Order, price: int, size: int) -> None:
        pass

    def cancelled(
        self,
        seq: int,
        market: MarketId,
        order_id: OrderId,
        account: Address,
        size: int,
        reason: CancelReason,
    ) -> None:
        """``size`` is the part of the order that is cancelled."""

    def expired(
        self, seq: int, market: MarketId, order_id: OrderId, account: Address, size: int
    ) -> None:
        pass

    def amended(self, seq: int, terms: NewOrder, remaining: int, kept_priority: bool) -> None:
        """``terms`` are the new ones; without priority the order re-enters the book next."""

    def dead_man_set(self, seq: int, account: Address, deadline: int) -> None:
        pass

    def fill_rejected(self, seq: int, fill: RejectedFill) -> None:
        """The chain refused ``fill`` (a ``ChainCancel`` reports it; its cancels follow)."""

    def triggered(self, seq: int, order: NewOrder, index: int) -> None:
        """The index price ``index`` crossed the trigger of the held (or just accepted)
        ``order``: it enters the book as a new order next (fills, cancels follow)."""

    def untriggered(self, seq: int, order: NewOrder, size: int, index: int) -> None:
        """The index price ``index`` no longer crosses the trigger of the released
        ``order`` resting on the book: ``size`` of it leaves the book and is held again."""

    def book_delta(self, seq: int, market: MarketId, side: Side, price: int, size: int) -> None:
        """The level at ``price`` on ``side`` now holds ``size`` (0: the level is gone)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """``order`` states the accepted terms (a reduce-only order's size may be clipped)."""

    seq: int
    order: NewOrder


@dataclass(frozen=True, slots=True)
class Rejected:
    seq: int
    command: Command
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class Filled:
    """A trade at the maker's price; the payloads are the ones the orders carried."""

    seq: int
    market: MarketId
    taker_order_id: OrderId
    maker_order_id: OrderId
    taker_account: Address
    maker_account: Address
    taker_side: Side
    price: int
    size: int
    taker_payload: bytes
    maker_payload: bytes


@dataclass(frozen=True, slots=True)
class Cancelled:
    seq: int
    market: MarketId
    order_id: OrderId
    account: Address
    size: int
    reason: CancelReason


@dataclass(frozen=True, slots=True)
class Expired:
    seq: int
    market: MarketId
    order_id: OrderId
    account: Address
    size: int


@dataclass(frozen=True, slots=True)
class Amended:
    """The order now has ``size`` in total, ``remaining`` of it open, at ``price``;
    ``payload`` is the order's (the new signed order, or the old one if none came)."""

    seq: int
    market: MarketId
    order_id: OrderId
    price: int
    size: int
    remaining: int
    kept_priority: bool
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeadManSet:
    seq: int
    account: Address
    deadline: int


@dataclass(frozen=True, slots=True)
class FillRejected:
    """A fill of the engine the chain will never settle; both traders are told."""

    seq: int
    fill: RejectedFill


@dataclass(frozen=True, slots=True)
class Triggered:
    """A trigger order was released by the index price ``index_price``; until this event an
    accepted trigger order is held off the book (untriggered)."""

    seq: int
    market: MarketId
    order_id: OrderId
    account: Address
    index_price: int


@dataclass(frozen=True, slots=True)
class Untriggered:
    """A released trigger order resting on the book is held again with ``size`` (what is
    left of it): the index price ``index_price`` no longer crosses its trigger."""

    seq: int
    market: MarketId
    order_id: OrderId
    account: Address
    size: int
    index_price: int


@dataclass(frozen=True, slots=True)
class BookDelta:
    seq: int
    market: MarketId
    side: Side
    price: int
    size: int


Event = (
    Accepted
    | Rejected
    | Filled
    | Cancelled
    | Expired
    | Amended
    | DeadManSet
    | FillRejected
    | Triggered
    | Untriggered
    | BookDelta
)
Subscriber = Callable[[Event], None]


class EventBus(EventSink):
    """Publishes typed events to subscribers, in the order the engine produced them."""

    def __init__(self, *, book_deltas: bool = True) -> None:
        self.book_deltas = book_deltas
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop publishing to ``subscriber`` (a restarted gateway leaves the engine's bus);
        ValueError if it is not subscribed."""
        self._subscribers.remove(subscriber)

    def _publish(self, event: Event) -> None:
        for subscriber in self._subscribers:
            subscriber(event)

    def accepted(self, seq: int, order: NewOrder) -> None:
        self._publish(Accepted(seq, order))

    def rejected(self, seq: int, command: Command, reason: RejectReason) -> None:
        self._publish(Rejected(seq, command, reason))

    def filled(self, seq: int, taker: NewOrder, maker: Order, price: int, size: int) -> None:
        made = maker.command
        self._publish(
            Filled(
                seq,
                taker.market,
                taker.order_id,
                made.order_id,
                taker.account,
                made.account,
                taker.side,
                price,
                size,
                taker.payload,
                made.payload,
            )
        )

    def cancelled(
        self,
        seq: int,
        market: MarketId,
        order_id: OrderId,
        account: Address,
        size: int,
        reason: CancelReason,
    ) -> None:
        self._publish(Cancelled(seq, market, order_id, account, size, reason))

    def expired(
        self, seq: int, market: MarketId, order_id: OrderId, account: Address, size: int
    ) -> None:
        self._publish(Expired(seq, market, order_id, account, size))

    def amended(self, seq: int, terms: NewOrder, remaining: int, kept_priority: bool) -> None:
        self._publish(
            Amended(
                seq,
                terms.market,
                terms.order_id,
                terms.price,
                terms.size,
                remaining,
                kept_priority,
                terms.payload,
            )
        )

    def dead_man_set(self, seq: int, account: Address, deadline: int) -> None:
        self._publish(DeadManSet(seq, account, deadline))

    def fill_rejected(self, seq: int, fill: RejectedFill) -> None:
        self._publish(FillRejected(seq, fill))

    def triggered(self, seq: int, order: NewOrder, index: int) -> None:
        self._publish(Triggered(seq, order.market, order.order_id, order.account, index))

    def untriggered(self, seq: int, order: NewOrder, size: int, index: int) -> None:
        self._publish(Untriggered(seq, order.market, order.order_id, order.account, size, index))

    def book_delta(self, seq: int, market: MarketId, side: Side, price: int, size: int) -> None:
        self._publish(BookDelta(seq, market, side, price, size))
