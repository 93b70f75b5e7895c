"""Engine events to client frames: acks, book updates, trades; each account's stream.

:class:`Feeds` subscribes to the engine's ``EventBus``. It keeps the order registry and the
risk check's reservations in step with the book, and queues frames in the outbox, which
releases them once their command is durable. An account's fills and order updates come
from the ``AccountLog``, which numbers them (``account_event``). Level changes of one
command are merged into one ``book_update`` per market, numbered consecutively per market.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from perpdex.core.eip712 import SignedOrder
from perpdex.core.types import Address, MarketId, OrderId, Side, Size
from perpdex.engine.clock import Clock
from perpdex.engine.errors import RejectReason
from perpdex.engine.events import (
    Accepted,
    Amended,
    BookDelta,
    Cancelled,
    Event,
    Expired,
    Filled,
    FillRejected,
    Rejected,
)
from perpdex.engine.matching import MatchingEngine
from perpdex.gateway import protocol as wire
from perpdex.gateway.orders import OrderRegistry
from perpdex.gateway.protocol import encode_frame, hex0x
from perpdex.gateway.risk import AccountState, RiskCheck
from perpdex.gateway.session import Outbox, Session
from perpdex.risk.reservations import reserves_margin


class EngineView(Protocol):
    """What the gateway reads of the engine: every market's book, and the clock that reads
    the stamp of the command being applied."""

    @property
    def markets(self) -> Mapping[MarketId, MatchingEngine]: ...

    @property
    def clock(self) -> Clock: ...


BookChanges = tuple[dict[int, int], dict[int, int]]  # bids, asks: price -> new level size


class Feeds:
    def __init__(
        self, engine: EngineView, registry: OrderRegistry, risk: RiskCheck, outbox: Outbox
    ) -> None:
        self._engine = engine
        self._registry = registry
        self._risk = risk
        self._outbox = outbox
        self.book_subscribers: dict[MarketId, set[Session]] = {m: set() for m in engine.markets}
        self.trade_subscribers: dict[MarketId, set[Session]] = {m: set() for m in engine.markets}
        self.account_subscribers: dict[Address, set[Session]] = {}
        self.book_seq: dict[MarketId, int] = dict.fromkeys(engine.markets, 0)
        self._changes: dict[MarketId, BookChanges] = {}
        self._traded: set[Address] = set()
        # set by the gateway around one command, read back after it
        self.rejection: RejectReason | None = None
        self.filled = False
        self.cancelled = 0  # orders the command cancelled (a cancel-all's answer says)
        self.amending: SignedOrder | None = None
        self.receipts = False  # whether a receipt follows each ack (set by the gateway)
        self._handlers: dict[type, Callable[[Any], None]] = {
            Accepted: self._accepted,
            Rejected: self._rejected,
            Filled: self._filled,
            FillRejected: self._fill_rejected,
            Cancelled: self._cancelled,
            Expired: self._left_book,
            Amended: self._amended,
            BookDelta: self._book_delta,
        }

    def on_event(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def begin_command(self) -> None:
        self.rejection = None
        self.filled = False
        self.cancelled = 0

    def end_command(self) -> None:
        """Queue the merged book updates and the account figures of traders who traded."""
        if self._changes:
            changes, self._changes = self._changes, {}
            for market, (bids, asks) in changes.items():
                self._book_update(market, bids, asks)
        if self._traded:
            traded, self._traded = self._traded, set()
            for trader in traded:
                self._account_update(trader)

    def snapshot(self, market: MarketId) -> wire.BookSnapshot:
        book = self._engine.markets[market]
        return wire.BookSnapshot(
            market=market,
            seq=self.book_seq[market],
            bids=[(level.price, level.total) for level in book.bids.depth()],
            asks=[(level.price, level.total) for level in book.asks.depth()],
        )

    def account_state(self, trader: Address) -> wire.AccountUpdate | None:
        state = self._risk.account(trader)
        return None if state is None else _account_frame(trader, state)

    # -- events ---------------------------------------------------------------------------

    def _accepted(self, event: Accepted) -> None:
        order = event.order
        record = self._registry.by_id(order.order_id)
        if record is None:  # not placed through this gateway (a replayed journal)
            return
        record.remaining = order.size
        if reserves_margin(record.signed.order):
            self._risk.reserve(record.signed, order.size)
        record.ack = encode_frame(
            wire.Placed(
                id=record.request_id,
                seq=event.seq,
                market=order.market,
                order_id=order.order_id,
                order_hash=hex0x(record.signed.order_hash),
                size=order.size,
                client_id=record.client_id,
                receipt=self.receipts,
            )
        )
        if record.origin is not None:
            self._outbox.put((record.origin,), record.ack)
            record.origin = None

    def _rejected(self, event: Rejected) -> None:
        self.rejection = event.reason

    def _filled(self, event: Filled) -> None:
        self.filled = True
        for order_id, account in (
            (event.taker_order_id, event.taker_account),
            (event.maker_order_id, event.maker_account),
        ):
            self._take(order_id, event.size)
            if self.account_subscribers.get(account):
                self._traded.add(account)
        watchers = self.trade_subscribers.get(event.market)
        if watchers:
            trade = wire.Trade(
                market=event.market,
                seq=event.seq,
                price=event.price,
                size=event.size,
                taker_is_buy=event.taker_side is Side.BUY,
                time=self._engine.clock.now(),
            )
            self._outbox.put(tuple(watchers), encode_frame(trade))

    def _fill_rejected(self, event: FillRejected) -> None:
        fill = event.fill
        for account in (fill.maker_account, fill.taker_account):
            if self.account_subscribers.get(account):
                self._traded.add(account)  # its positions no longer count the fill

    def _cancelled(self, event: Cancelled) -> None:
        self.cancelled += 1
        self._left_book(event)

    def _left_book(self, event: Cancelled | Expired) -> None:
        self._take(event.order_id, event.size)

    def account_event(self, account: Address, frame: bytes) -> None:
        """A frame of the account's event log (``AccountLog``) to its subscribers."""
        subscribers = self.account_subscribers.get(account)
        if subscribers:
            self._outbox.put(tuple(subscribers), frame)

    def _amended(self, event: Amended) -> None:
        record = self._registry.by_id(event.order_id)
        replacing = self.amending
        if record is None or replacing is None:
            return
        self._risk.release(record.signed, Size(record.remaining))
        self._registry.replace(record, replacing)
        record.remaining = event.remaining
        if reserves_margin(replacing.order):
            self._risk.reserve(replacing, Size(event.remaining))

    def _book_delta(self, event: BookDelta) -> None:
        changes = self._changes.get(event.market)
        if changes is None:
            changes = self._changes[event.market] = ({}, {})
        changes[0 if event.side is Side.BUY else 1][event.price] = event.size

    # -- helpers --------------------------------------------------------------------------

    def _take(self, order_id: OrderId, size: int) -> None:
        """``size`` of the order left the book; the risk check releases it."""
        record = self._registry.by_id(order_id)
        if record is not None:
            record.remaining -= size
            self._risk.release(record.signed, Size(size))

    def _book_update(self, market: MarketId, bids: dict[int, int], asks: dict[int, int]) -> None:
        seq = self.book_seq[market] = self.book_seq[market] + 1
        subscribers = self.book_subscribers[market]
        if subscribers:
            update = wire.BookUpdate(
                market=market,
                seq=seq,
                bids=sorted(bids.items(), reverse=True),
                asks=sorted(asks.items()),
            )
            self._outbox.put(tuple(subscribers), encode_frame(update))

    def _account_update(self, trader: Address) -> None:
        subscribers = self.account_subscribers.get(trader)
        frame = self.account_state(trader) if subscribers else None
        if subscribers and frame is not None:
            self._outbox.put(tuple(subscribers), encode_frame(frame))


def _account_frame(trader: Address, state: AccountState) -> wire.AccountUpdate:
    return wire.AccountUpdate(
        trader=trader,
        collateral=state.collateral,
        equity=state.equity,
        initial_margin=state.initial_margin,
        maintenance_margin=state.maintenance_margin,
        positions=[
            wire.Position(
                market=p.market, size=p.size, quote=p.quote, isolated_margin=p.isolated_margin
            )
            for p in state.positions
        ],
    )
