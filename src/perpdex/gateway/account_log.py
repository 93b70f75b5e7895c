"""Every account's event log: fills, rejected fills and orders leaving the book, numbered
per account.

:class:`AccountLog` turns the engine's events into the account frames (``fill``,
``fill_rejected``, ``order``) and numbers each account's frames 1, 2, 3, ...
(``accountSeq``). The numbers depend on the engine's events alone, and those on the
journal alone (``Engine.apply`` is a pure function of the sequenced commands), so a
restart that replays the journal numbers every event as before: a client that saw up to
``n`` before a crash resumes after ``n`` and gets exactly what it missed. Only events
derived from the journal may be logged here (a new account frame joins
``protocol.AccountEvent`` and goes through :meth:`AccountLog._log`, which numbers, stores
and sends it).

Memory holds the accounts' last numbers, the open orders and the events of commands not
yet committed; everything else is in the :class:`AccountStore` on disk. ``commit`` (the
gateway calls it after every flush of the sequencer) marks the pending events durable, so
they reach the store only once their commands are durable. Durable rows are written in
groups of about :data:`WRITE_ROWS` (one transaction per group, an order changed several
times in a group written once): an SQLite transaction per flush cost the matching loop
more than the inserts themselves. Every read of the store writes the group first, so the
history and resumes see every committed event. A crash loses at most the unwritten group,
which the replay of the journal writes again, with the same numbers. A log starts from
its store (the accounts and open orders as of ``store.covered``) and takes the events of
later journal entries from the replay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from perpdex.core.eip712 import Eip712Domain
from perpdex.core.types import Address, OrderHash, OrderId, Side, TriggerDirection
from perpdex.engine.commands import NewOrder
from perpdex.engine.events import (
    Accepted,
    Amended,
    Cancelled,
    Event,
    Expired,
    Filled,
    FillRejected,
    Triggered,
    Untriggered,
)
from perpdex.gateway import protocol as wire
from perpdex.gateway.account_store import (
    AccountStore,
    AccountStoreError,
    StoredEvent,
    StoredOrder,
)
from perpdex.gateway.protocol import encode_frame, hex0x
from perpdex.settlement.payload import order_hash_of_payload

log = logging.getLogger(__name__)

Listener = Callable[[Address, bytes], None]
"""Told every logged frame at once (the gateway queues it for the account's subscribers)."""

_decode_order = msgspec.json.Decoder(wire.HistoricalOrder).decode

WRITE_ROWS = 1024
"""Durable rows (events and order states) kept before one write to the store: bounds the
memory and the loop's pause for a write (about a millisecond)."""


@dataclass(slots=True, eq=False)
class _Open:
    account: Address
    entry: wire.HistoricalOrder
    remaining: int


class AccountLog:
    def __init__(self, store: AccountStore, domain: Eip712Domain) -> None:
        self._store = store
        self._domain = domain
        self._covered = store.covered
        # what a replay from genesis finds in the store already; fixed at open, since in
        # cluster mode the events of several shards' journals come in, each numbered by
        # its own, and a later shard's first events must not pass for stored ones
        self._stored_at_open = self._covered
        self._through = self._covered  # the last journal seq whose events were taken
        self._seqs = store.last_seqs()
        self._open: dict[OrderId, _Open] = {}
        for account, data in store.open_orders():
            entry = _decode_order(data)
            self._open[OrderId(entry.order_id)] = _Open(account, entry, entry.size - entry.filled)
        self._events: list[StoredEvent] = []
        self._touched: dict[OrderId, _Open] = {}
        # committed (durable) but not yet in the store, through journal seq ``_committed``
        self._committed = self._covered
        self._unwritten_events: list[StoredEvent] = []
        self._unwritten_orders: dict[OrderId, StoredOrder] = {}
        self._unwritten_seqs: dict[Address, int] = {}
        self._listener: Listener | None = None
        self.incoming_hash: OrderHash | None = None
        """The hash of the order the next command places or amends to, when its sender
        knows it (the gateway verified it): spares hashing the payload again."""
        self._handlers: dict[type, Callable[[Any], None]] = {
            Accepted: self._accepted,
            Filled: self._filled,
            Cancelled: self._cancelled,
            Expired: self._expired,
            Amended: self._amended,
            FillRejected: self._fill_rejected,
            Triggered: self._triggered,
            Untriggered: self._untriggered,
        }

    # -- input ----------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if event.seq <= self._stored_at_open:
            return  # in the store already (a replay from genesis)
        handler = self._handlers.get(type(event))
        if handler is not None:
            self._through = event.seq
            handler(event)

    def adopt(self, order: NewOrder, remaining: int, *, held: bool = False) -> None:
        """A resting (or ``held`` trigger) order accepted before this log began (a log
        without a store of the journal's past): its later events are logged."""
        if order.order_id not in self._open:
            # placed before the log began: its placing seq is unknown (0)
            entry = self._entry(0, order, held=held)
            self._open[order.order_id] = _Open(order.account, entry, remaining)

    # -- output ---------------------------------------------------------------------------

    def attach(self, listener: Listener) -> None:
        self._listener = listener

    def detach(self) -> None:
        self._listener = None

    def last_seq(self, account: Address) -> int:
        """The number of the account's last logged event (0: none yet)."""
        return self._seqs.get(account, 0)

    def commit(self) -> None:
        """Mark every pending event durable (call it only once their commands are): it is
        in the store by the next read, or once a group of :data:`WRITE_ROWS` is full."""
        if not self._events and not self._touched and self._through == self._committed:
            return
        events, self._events = self._events, []
        touched, self._touched = self._touched, {}
        seqs = self._seqs
        unwritten_seqs = self._unwritten_seqs
        for account, _, _, _ in events:
            unwritten_seqs[account] = seqs[account]
        self._unwritten_events += events
        # encoded now: a later, not yet durable command may change the entry in place
        orders = self._unwritten_orders
        for order_id, o in touched.items():
            orders[order_id] = (o.account, order_id, o.remaining > 0, encode_frame(o.entry))
        self._committed = self._through
        if len(self._unwritten_events) + len(orders) >= WRITE_ROWS:
            self._write()

    def _write(self) -> None:
        """Write the committed rows to the store, in one transaction."""
        # rows, not seqs, say whether there is anything (several shards: see __init__)
        nothing = not self._unwritten_events and not self._unwritten_orders
        if nothing and self._committed == self._covered:
            return
        self._store.write(
            self._unwritten_events,
            self._unwritten_orders.values(),
            self._unwritten_seqs.items(),
            covered=self._committed,
        )
        self._unwritten_events = []
        self._unwritten_orders = {}
        self._unwritten_seqs = {}
        self._covered = self._committed

    def caught_up(self, journal_seq: int) -> None:
        """The replay ended at ``journal_seq``: store what it added. Raises
        :class:`AccountStoreError` if the store covers more than the journal holds."""
        if self._covered > journal_seq:
            raise AccountStoreError(
                f"the account store covers journal entries up to {self._covered}, the"
                f" journal ends at {journal_seq}: it belongs to another journal"
            )
        self.commit()
        self._write()

    def events(
        self, account: Address, after: int, limit: int, kind: str | None = None
    ) -> list[tuple[int, bytes]]:
        """(account seq, encoded frame) of the committed events numbered above ``after``."""
        self._write()
        return self._store.events(account, after, limit, kind)

    def orders(self, account: Address, after: int, limit: int) -> list[tuple[int, bytes]]:
        """(order id, encoded ``HistoricalOrder``) as of the last commit."""
        self._write()
        return self._store.orders(account, after, limit)

    def order(
        self, account: Address, *, order_hash: str | None = None, client_id: str | None = None
    ) -> wire.HistoricalOrder | None:
        """One of the account's orders as of the last commit, by hash (its current one,
        after an amend) or by client id (the newest with it)."""
        self._write()
        if order_hash is not None:
            data = self._store.order_by_hash(account, order_hash)
        elif client_id is not None:
            data = self._store.order_by_client_id(account, client_id)
        else:
            raise ValueError("an order is named by its hash or its client id")
        return None if data is None else _decode_order(data)

    def close(self, *, commit: bool) -> None:
        """``commit=False`` is a crash: pending events were never durable, so never sent;
        the committed ones are written either way."""
        if commit:
            self.commit()
        self._write()
        self._store.close()

    # -- events ---------------------------------------------------------------------------

    def _accepted(self, event: Accepted) -> None:
        order = event.order
        held = order.trigger is not TriggerDirection.NONE
        entry = self._entry(event.seq, order, held=held)
        state = _Open(order.account, entry, order.size)
        self._touch(order.order_id, state)
        if held:  # held until triggered (a Triggered event may follow at once)
            self._trigger_frame(event.seq, state, wire.OrderStatus.UNTRIGGERED, None)

    def _triggered(self, event: Triggered) -> None:
        self._trigger_moved(event, wire.OrderState.OPEN, wire.OrderStatus.TRIGGERED)

    def _filled(self, event: Filled) -> None:
        taker_buys = event.taker_side is Side.BUY
        for order_id, account, is_buy, maker in (
            (event.taker_order_id, event.taker_account, taker_buys, False),
            (event.maker_order_id, event.maker_account, not taker_buys, True),
        ):
            state = self._change(order_id, event.seq, event.size, wire.OrderState.FILLED)
            if state is None:
                continue
            state.entry.filled += event.size
            state.entry.filled_value += event.price * event.size
            frame = wire.Fill(
                seq=event.seq,
                market=event.market,
                order_id=order_id,
                order_hash=state.entry.order_hash,
                is_buy=is_buy,
                price=event.price,
                size=event.size,
                maker=maker,
                client_id=state.entry.client_id,
            )
            self._log(account, frame)

    def _cancelled(self, event: Cancelled) -> None:
        self._left_book(
            event.seq, event.order_id, event.size, wire.OrderStatus.CANCELLED, event.reason.value
        )

    def _expired(self, event: Expired) -> None:
        self._left_book(event.seq, event.order_id, event.size, wire.OrderStatus.EXPIRED, None)

    def _fill_rejected(self, event: FillRejected) -> None:
        fill = event.fill
        taker_buys = fill.taker_side is Side.BUY
        for account, order_hash, is_buy, maker in (
            (fill.maker_account, hex0x(fill.maker_hash), not taker_buys, True),
            (fill.taker_account, hex0x(fill.taker_hash), taker_buys, False),
        ):
            order = self._order_named(account, order_hash)
            frame = wire.FillRejected(
                seq=event.seq,
                market=fill.market,
                order_hash=order_hash,
                is_buy=is_buy,
                price=fill.price,
                size=fill.size,
                maker=maker,
                reason=fill.cause,
                order_id=None if order is None else order.order_id,
                client_id=None if order is None else order.client_id,
            )
            self._log(account, frame)

    def _amended(self, event: Amended) -> None:
        state = self._known(event.order_id, event.seq)
        if state is None:
            return
        entry = state.entry
        entry.price, entry.size, entry.updated_seq = event.price, event.size, event.seq
        entry.order_hash = self._name(event.payload)
        state.remaining = event.remaining
        self._touch(event.order_id, state)

    # -- helpers --------------------------------------------------------------------------

    def _log(self, account: Address, frame: wire.AccountEvent) -> None:
        """Number ``frame`` as the account's next event, keep it for the store, send it."""
        seq = self._seqs[account] = self._seqs.get(account, 0) + 1
        frame.account_seq = seq
        data = encode_frame(frame)
        self._events.append((account, seq, str(frame.__struct_config__.tag), data))
        if self._listener is not None:
            self._listener(account, data)

    def _left_book(
        self,
        seq: int,
        order_id: OrderId,
        size: int,
        status: wire.OrderStatus,
        reason: str | None,
    ) -> None:
        closed = (
            wire.OrderState.CANCELLED
            if status is wire.OrderStatus.CANCELLED
            else wire.OrderState.EXPIRED
        )
        state = self._change(order_id, seq, size, closed)
        if state is None:
            return
        entry = state.entry
        entry.reason = reason
        frame = wire.OrderUpdate(
            seq=seq,
            market=entry.market,
            order_id=order_id,
            order_hash=entry.order_hash,
            status=status,
            size=size,
            reason=reason,
            client_id=entry.client_id,
        )
        self._log(state.account, frame)

    def _trigger_frame(
        self, seq: int, state: _Open, status: wire.OrderStatus, index_price: int | None
    ) -> None:
        entry = state.entry
        frame = wire.OrderUpdate(
            seq=seq,
            market=entry.market,
            order_id=entry.order_id,
            order_hash=entry.order_hash,
            status=status,
            size=state.remaining,
            client_id=entry.client_id,
            index_price=index_price,
        )
        self._log(state.account, frame)

    def _untriggered(self, event: Untriggered) -> None:
        self._trigger_moved(event, wire.OrderState.UNTRIGGERED, wire.OrderStatus.UNTRIGGERED)

    def _trigger_moved(
        self, event: Triggered | Untriggered, state: wire.OrderState, status: wire.OrderStatus
    ) -> None:
        """A trigger order released onto the book or taken off it again, at the event's
        index price: its history entry and the account's event log both say so."""
        known = self._known(event.order_id, event.seq)
        if known is None:
            return
        known.entry.state = state
        known.entry.updated_seq = event.seq
        self._touch(event.order_id, known)
        self._trigger_frame(event.seq, known, status, event.index_price)

    def _change(self, order_id: OrderId, seq: int, size: int, closed: wire.OrderState) -> _Open:
        """``size`` of the order left the book; once nothing is left it is ``closed``."""
        state = self._open[order_id]
        state.remaining -= size
        state.entry.updated_seq = seq
        if state.remaining <= 0:
            state.entry.state = closed
            del self._open[order_id]
        self._touched[order_id] = state
        return state

    def _known(self, order_id: OrderId, seq: int) -> _Open | None:
        """The open order; a bug if unknown (logged, not raised: the engine already applied
        the command, and the bus's other subscribers must still see the event)."""
        state = self._open.get(order_id)
        if state is None:
            log.error("account log: order %s at journal seq %s is not open here", order_id, seq)
        return state

    def _touch(self, order_id: OrderId, state: _Open) -> None:
        self._open[order_id] = self._touched[order_id] = state

    def _entry(self, seq: int, order: NewOrder, *, held: bool) -> wire.HistoricalOrder:
        return wire.HistoricalOrder(
            market=order.market,
            order_id=order.order_id,
            order_hash=self._name(order.payload),
            is_buy=order.side is Side.BUY,
            price=order.price,
            size=order.size,
            filled=0,
            state=wire.OrderState.UNTRIGGERED if held else wire.OrderState.OPEN,
            seq=seq,
            updated_seq=seq,
            client_id=order.client_id,
            trigger_price=order.trigger_price,
            trigger_direction=order.trigger,
        )

    def _order_named(self, account: Address, order_hash: str) -> wire.HistoricalOrder | None:
        """One of the account's orders by hash (a rare look-up: a rejected fill)."""
        for state in (*self._touched.values(), *self._open.values()):
            if state.entry.order_hash == order_hash:
                return state.entry
        self._write()
        data = self._store.order_by_hash(account, order_hash)
        return None if data is None else _decode_order(data)

    def _name(self, payload: bytes) -> str:
        known = self.incoming_hash
        return hex0x(known if known is not None else order_hash_of_payload(payload, self._domain))
