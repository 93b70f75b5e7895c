"""One market's order book and the rules that change it.

Price-time priority; a trade executes at the resting order's price. The code on the path
of every order (``new_order``, ``_match``, ``_rest``, ``cancel``) is written for CPython
speed: locals instead of repeated attribute lookups, the sink's bound methods fetched once,
no objects created for a command except the resting ``Order``. Everything else favours
plain code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from heapq import heappop

from perpdex.core.types import Address, ClientOrderId, OrderId, Side, Size
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine.book import BookSide, Level, Order
from perpdex.engine.clock import Clock
from perpdex.engine.commands import (
    Amend,
    Cancel,
    CancelByClientId,
    IndexPrice,
    NewOrder,
    StpMode,
)
from perpdex.engine.config import MarketConfig
from perpdex.engine.errors import CancelReason, RejectReason
from perpdex.engine.events import EventSink
from perpdex.engine.held import HeldOrders, crossed
from perpdex.engine.timers import Timers

_BUY = Side.BUY
_GTC = Tif.GTC
_POST_ONLY = Tif.POST_ONLY
_FOK = Tif.FOK
_CANCEL_RESTING = StpMode.CANCEL_RESTING
_CANCEL_TAKER = StpMode.CANCEL_TAKER
_SELF_TRADE = CancelReason.SELF_TRADE


class MatchingEngine:
    """The book of ``config.market``; output goes to ``sink``, expiries to ``timers``.

    ``clock`` tells the time of the command being applied. With ``self_trade_prevention``
    False an account may trade with itself (the benchmark treats accounts as labels).
    Trigger orders wait in ``held`` until an ``IndexPrice`` crosses their trigger;
    ``index`` is the last index price (0: none yet).
    """

    def __init__(
        self,
        config: MarketConfig,
        clock: Clock,
        sink: EventSink,
        timers: Timers,
        *,
        self_trade_prevention: bool = True,
    ) -> None:
        self.config = config
        self.market = config.market
        self.bids = BookSide(Side.BUY)
        self.asks = BookSide(Side.SELL)
        self.last_order_id = 0  # order ids must increase: a smaller one is a duplicate
        self._tick = config.tick_size
        self._lot = config.lot_size
        self._clock = clock
        self._timers = timers
        self._stp = self_trade_prevention
        self._orders: dict[OrderId, Order] = {}
        self._by_account: dict[Address, dict[OrderId, Order]] = {}
        self._by_client_id: dict[tuple[Address, ClientOrderId], Order] = {}
        self.held = HeldOrders()
        self.index = 0
        self._resting_triggers: dict[OrderId, Order] = {}  # released trigger orders that rest
        self._triggered = sink.triggered
        self._untriggered = sink.untriggered
        self._accepted = sink.accepted
        self._rejected = sink.rejected
        self._filled = sink.filled
        self._cancelled = sink.cancelled
        self._expired = sink.expired
        self._amended = sink.amended
        self._delta = sink.book_delta if sink.book_deltas else None

    # -- commands -------------------------------------------------------------------------

    def new_order(self, seq: int, cmd: NewOrder) -> None:
        price = cmd.price
        reason = self._bad_terms(price, cmd.size)
        if reason is None:
            if cmd.order_id <= self.last_order_id:
                reason = RejectReason.DUPLICATE_ORDER_ID
            elif cmd.expiry and cmd.expiry <= self._clock.now():
                reason = RejectReason.EXPIRED
            elif cmd.client_id is not None and (
                (cmd.account, cmd.client_id) in self._by_client_id
                or self.held.by_client_id(cmd.account, cmd.client_id) is not None
            ):
                reason = RejectReason.DUPLICATE_CLIENT_ORDER_ID
            elif (cmd.trigger or cmd.trigger_price) and (not cmd.trigger or cmd.trigger_price <= 0):
                reason = RejectReason.BAD_TRIGGER  # one without the other
        if reason is not None:
            self._rejected(seq, cmd, reason)
            return
        self.last_order_id = cmd.order_id
        if cmd.trigger:  # NONE is 0
            self._accepted(seq, cmd)
            if crossed(cmd, self.index):
                self._release(seq, cmd, cmd.size, cmd.position)
            else:
                self._hold(cmd, cmd.size)
            return
        if cmd.reduce_only:
            size = self._reduce_only_size(cmd)
            if size <= 0:
                self._rejected(seq, cmd, RejectReason.REDUCE_ONLY_WOULD_INCREASE)
                return
            if size != cmd.size:
                cmd = replace(cmd, size=Size(size))
        limit: int
        if cmd.side is _BUY:
            opposite = self.asks
            limit = price
        else:
            opposite = self.bids
            limit = -price
        tif = cmd.tif
        if tif is not _GTC:
            if tif is _POST_ONLY:
                if opposite.heap and opposite.heap[0] <= limit and self._crosses(opposite, limit):
                    self._rejected(seq, cmd, RejectReason.POST_ONLY_WOULD_CROSS)
                    return
            elif tif is _FOK and not self._fillable(opposite, limit, cmd):
                self._rejected(seq, cmd, RejectReason.FOK_NOT_FILLABLE)
                return
        self._accepted(seq, cmd)
        self._enter(seq, cmd, opposite, limit, cmd.size)

    def cancel(self, seq: int, cmd: Cancel) -> None:
        order = self._orders.get(cmd.order_id)
        if order is not None:  # the usual case first, without a call more
            self._cancel_resting(seq, order, CancelReason.REQUESTED)
        elif not self._cancel_open(seq, cmd.order_id, CancelReason.REQUESTED):
            self._rejected(seq, cmd, RejectReason.UNKNOWN_ORDER)

    def cancel_by_client_id(self, seq: int, cmd: CancelByClientId) -> None:
        order = self._by_client_id.get((cmd.account, cmd.client_id))
        if order is not None:
            self._cancel_resting(seq, order, CancelReason.REQUESTED)
            return
        held = self.held.by_client_id(cmd.account, cmd.client_id)
        if held is None:
            self._rejected(seq, cmd, RejectReason.UNKNOWN_ORDER)
        else:
            self._cancel_held(seq, held, CancelReason.REQUESTED)

    def cancel_all(self, seq: int, account: Address, reason: CancelReason) -> None:
        """Cancel the account's resting and held orders, oldest id first (the same order
        after a restore)."""
        resting = self._by_account.get(account) or {}
        held = self.held.ids_of(account)
        if resting or held:
            for order_id in sorted((*resting, *held)):
                self._cancel_open(seq, order_id, reason)

    def cancel_if_resting(self, seq: int, order_id: OrderId, reason: CancelReason) -> None:
        """Cancel the order if it still rests or is held (the chain closed it: nothing to
        refuse)."""
        self._cancel_open(seq, order_id, reason)

    def index_price(self, seq: int, cmd: IndexPrice) -> None:
        """Take the new index price. First every released trigger order resting on the
        book whose trigger it no longer crosses is held again (by id, with what is left
        of it): the contract would refuse its fills. Then every held order it crosses is
        released, in the held orders' release order, each entered as a new order; a
        reduce-only one is sized against the position stamped in ``cmd`` less what the
        released orders of its account already took in this command."""
        price = cmd.price
        if price <= 0:
            self._rejected(seq, cmd, RejectReason.BAD_PRICE)
            return
        self.index = price
        if self._resting_triggers:
            for order_id in sorted(self._resting_triggers):
                resting = self._resting_triggers[order_id]
                if not crossed(resting.command, price):
                    self._hold_again(seq, resting)
        released = self.held.crossed_by(price)
        if not released:
            return
        positions = dict(cmd.positions)
        for order in released:
            _, size = self.held.remove(order.order_id)
            position = positions.get(order.account, 0)
            taken = self._release(seq, order, size, position)
            if taken:
                positions[order.account] = position + order.side * taken

    def releases(self, price: int) -> list[NewOrder]:
        """The held orders an index price of ``price`` would release, in release order."""
        return self.held.crossed_by(price)

    def amend(self, seq: int, cmd: Amend) -> None:
        order = self._orders.get(cmd.order_id)
        if order is None:
            unknown = (
                RejectReason.NOT_TRIGGERED
                if cmd.order_id in self.held.orders
                else RejectReason.UNKNOWN_ORDER
            )
            self._rejected(seq, cmd, unknown)
            return
        terms = order.command
        keeps_priority = cmd.price == terms.price and cmd.size <= terms.size
        limit: int
        if terms.side is _BUY:
            opposite = self.asks
            limit = cmd.price
        else:
            opposite = self.bids
            limit = -cmd.price
        reason = self._bad_terms(cmd.price, cmd.size)
        if reason is None and not keeps_priority:
            if terms.reduce_only and cmd.size > terms.size:
                reason = RejectReason.REDUCE_ONLY_WOULD_INCREASE
            elif terms.tif is _POST_ONLY and self._crosses(opposite, limit):
                reason = RejectReason.POST_ONLY_WOULD_CROSS
        if reason is not None:
            self._rejected(seq, cmd, reason)
            return
        filled = terms.size - order.remaining
        if cmd.size <= filled:
            self._cancel_resting(seq, order, CancelReason.AMENDED)
            return
        new_terms = replace(
            terms, price=cmd.price, size=cmd.size, payload=cmd.payload or terms.payload
        )
        remaining = cmd.size - filled
        self._amended(seq, new_terms, remaining, keeps_priority)
        if keeps_priority:
            level = self._level_of(order)
            level.total -= order.remaining - remaining
            order.remaining = remaining
            order.command = new_terms
            if self._delta is not None:
                self._delta(seq, self.market, terms.side, level.price, level.total)
        else:
            self._take_off(seq, order)
            self._enter(seq, new_terms, opposite, limit, remaining)

    def rests_with_expiry(self, order_id: OrderId, expiry: int) -> bool:
        """Whether the order rests, or is held, with that expiry."""
        order = self._orders.get(order_id)
        if order is not None:
            return order.command.expiry == expiry
        held = self.held.orders.get(order_id)
        return held is not None and held.expiry == expiry

    def expire(self, seq: int, order_id: OrderId, expiry: int) -> None:
        """A timer for ``order_id`` came due; it expires if it still rests (or is held)
        with that expiry."""
        if not self.rests_with_expiry(order_id, expiry):
            return
        order = self._orders.get(order_id)
        if order is None:
            held, size = self.held.remove(order_id)
            self._expired(seq, self.market, order_id, held.account, size)
            return
        terms = order.command
        self._expired(seq, self.market, order_id, terms.account, order.remaining)
        self._take_off(seq, order)

    # -- reading --------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        return self.bids.best_price()

    def best_ask(self) -> int | None:
        return self.asks.best_price()

    def resting_orders(self) -> Iterator[Order]:
        """Every resting order: bids best price first, then asks; time priority within."""
        for side in (self.bids, self.asks):
            for level in side.depth():
                yield from level.orders.values()

    def account_of(self, order_id: OrderId) -> Address | None:
        """The account of a resting order (None: no such order rests)."""
        order = self._orders.get(order_id)
        return None if order is None else order.command.account

    def orders_of(self, account: Address) -> list[Order]:
        """The account's resting orders, oldest id first."""
        orders = self._by_account.get(account, {})
        return [orders[order_id] for order_id in sorted(orders)]

    def held_of(self, account: Address) -> list[NewOrder]:
        """The account's held trigger orders, oldest id first."""
        held = self.held.orders
        return [held[order_id] for order_id in sorted(self.held.ids_of(account))]

    def restore(self, terms: NewOrder, remaining: int) -> None:
        """Put an order from a snapshot back at the end of its level, without events."""
        self._rest(terms, remaining)

    def restore_held(self, terms: NewOrder, size: int) -> None:
        """Hold a trigger order from a snapshot again, without events."""
        self._hold(terms, size)

    # -- internals ------------------------------------------------------------------------

    def _bad_terms(self, price: int, size: int) -> RejectReason | None:
        if size <= 0:
            return RejectReason.BAD_SIZE
        if size % self._lot:
            return RejectReason.BAD_LOT
        if price <= 0:
            return RejectReason.BAD_PRICE
        if price % self._tick:
            return RejectReason.BAD_TICK
        return None

    def _enter(self, seq: int, cmd: NewOrder, opposite: BookSide, limit: int, size: int) -> int:
        """Trade an accepted order against the book, then rest or cancel what is left;
        returns what is left (0 too when self-trade prevention cancelled the taker)."""
        heap = opposite.heap
        if heap and heap[0] <= limit:
            size = self._match(seq, cmd, opposite, limit, size)
        if size:
            tif = cmd.tif
            if tif is _GTC or tif is _POST_ONLY:
                level = self._rest(cmd, size)
                if self._delta is not None:
                    self._delta(seq, self.market, cmd.side, level.price, level.total)
            else:
                self._cancelled(
                    seq, self.market, cmd.order_id, cmd.account, size, CancelReason.UNFILLED_IOC
                )
        return size

    def _hold(self, cmd: NewOrder, size: int) -> None:
        self.held.add(cmd, size)
        if cmd.expiry:
            self._timers.add_expiry(cmd.expiry, self.market, cmd.order_id)

    def _hold_again(self, seq: int, order: Order) -> None:
        """Take a released trigger order off the book and hold it with what is left."""
        terms, size = order.command, order.remaining
        self._untriggered(seq, terms, size, self.index)
        self._take_off(seq, order)
        self._hold(terms, size)

    def _release(self, seq: int, cmd: NewOrder, size: int, position: int) -> int:
        """Enter ``size`` of an accepted trigger order whose trigger the index crossed, as
        a new order of its signed terms; what cannot be entered is cancelled. A
        reduce-only order is stamped with ``position`` and clipped to it as at placing.
        Returns the size it took (at most: a taker that self-trade prevention cancelled
        counts as filled)."""
        self._triggered(seq, cmd, self.index)
        if cmd.reduce_only:
            cmd = replace(cmd, position=position)
            room = max(min(size, self._reduce_only_size(cmd)), 0)
            if room < size:
                self._cancelled(
                    seq,
                    self.market,
                    cmd.order_id,
                    cmd.account,
                    size - room,
                    CancelReason.REDUCE_ONLY_EXCEEDS_POSITION,
                )
                size = room
                if not size:
                    return 0
        limit: int
        if cmd.side is _BUY:
            opposite = self.asks
            limit = cmd.price
        else:
            opposite = self.bids
            limit = -cmd.price
        refused = None
        if cmd.tif is _POST_ONLY and self._crosses(opposite, limit):
            refused = CancelReason.POST_ONLY_WOULD_CROSS
        elif cmd.tif is _FOK and not self._fillable(opposite, limit, replace(cmd, size=Size(size))):
            refused = CancelReason.FOK_NOT_FILLABLE
        if refused is not None:
            self._cancelled(seq, self.market, cmd.order_id, cmd.account, size, refused)
            return 0
        return size - self._enter(seq, cmd, opposite, limit, size)

    def _match(self, seq: int, taker: NewOrder, opposite: BookSide, limit: int, size: int) -> int:
        """Fill ``taker`` against levels with keys up to ``limit``; returns what is left."""
        heap = opposite.heap
        levels = opposite.levels
        filled = self._filled
        delta = self._delta
        stp = self._stp
        account = taker.account
        while heap and heap[0] <= limit:
            level = levels[heap[0]]
            if level.total:
                price = level.price
                queue = level.orders
                while size and queue:
                    maker = next(iter(queue.values()))
                    if stp and maker.command.account == account:
                        if taker.stp is not _CANCEL_TAKER:
                            self._cancel_resting(seq, maker, _SELF_TRADE)
                        if taker.stp is not _CANCEL_RESTING:
                            self._cancelled(
                                seq, self.market, taker.order_id, account, size, _SELF_TRADE
                            )
                            return 0
                        continue
                    left = maker.remaining
                    if left <= size:
                        maker.remaining = 0
                        terms = maker.command
                        del queue[terms.order_id]
                        self._forget(terms)
                    else:
                        maker.remaining = left - size
                        left = size
                    level.total -= left
                    size -= left
                    filled(seq, taker, maker, price, left)
                if delta is not None:
                    delta(seq, self.market, opposite.side, price, level.total)
                if level.total:
                    break
            del levels[heappop(heap)]
        return size

    def _rest(self, cmd: NewOrder, size: int) -> Level:
        if cmd.side is _BUY:
            side = self.bids
            key = -cmd.price
        else:
            side = self.asks
            key = cmd.price
        level = side.levels.get(key) or side.level_for(key)
        order = Order(cmd, key, size)
        order_id = cmd.order_id
        level.orders[order_id] = order
        level.total += size
        self._orders[order_id] = order
        account = cmd.account
        mine = self._by_account.get(account)
        if mine is None:
            mine = self._by_account[account] = {}
        mine[order_id] = order
        if cmd.client_id is not None:
            self._by_client_id[(account, cmd.client_id)] = order
        if cmd.expiry:
            self._timers.add_expiry(cmd.expiry, self.market, order_id)
        if cmd.trigger:
            self._resting_triggers[order_id] = order
        return level

    def _cancel_open(self, seq: int, order_id: OrderId, reason: CancelReason) -> bool:
        """Cancel a resting or held order; False if there is none of that id."""
        order = self._orders.get(order_id)
        if order is not None:
            self._cancel_resting(seq, order, reason)
        elif order_id in self.held.orders:
            self._cancel_held(seq, order_id, reason)
        else:
            return False
        return True

    def _cancel_held(self, seq: int, order_id: OrderId, reason: CancelReason) -> None:
        terms, size = self.held.remove(order_id)
        self._cancelled(seq, self.market, order_id, terms.account, size, reason)

    def _cancel_resting(self, seq: int, order: Order, reason: CancelReason) -> None:
        terms = order.command
        self._cancelled(seq, self.market, terms.order_id, terms.account, order.remaining, reason)
        self._take_off(seq, order)

    def _take_off(self, seq: int, order: Order) -> None:
        """Remove a resting order from its level and from every index."""
        level = self._level_of(order)
        level.total -= order.remaining
        order.remaining = 0
        terms = order.command
        del level.orders[terms.order_id]
        self._forget(terms)
        if self._delta is not None:
            self._delta(seq, self.market, terms.side, level.price, level.total)

    def _forget(self, terms: NewOrder) -> None:
        del self._orders[terms.order_id]
        del self._by_account[terms.account][terms.order_id]
        if terms.client_id is not None:
            del self._by_client_id[(terms.account, terms.client_id)]
        if terms.trigger:
            del self._resting_triggers[terms.order_id]

    def _level_of(self, order: Order) -> Level:
        return (self.bids if order.key < 0 else self.asks).levels[order.key]

    @staticmethod
    def _crosses(opposite: BookSide, limit: int) -> bool:
        best = opposite.best()
        return best is not None and opposite.heap[0] <= limit

    def _fillable(self, opposite: BookSide, limit: int, taker: NewOrder) -> bool:
        """Whether ``taker`` would fill in full right now (fill-or-kill)."""
        levels = opposite.levels
        wanted: int = taker.size
        if not self._stp:
            for key in opposite.keys_within(limit):
                wanted -= levels[key].total
                if wanted <= 0:
                    return True
            return False
        # Own orders on the way are skipped (their cancellation is not liquidity) or stop
        # the taker, so walk them in priority order.
        for key in sorted(opposite.keys_within(limit)):
            for maker in levels[key].orders.values():
                if maker.command.account == taker.account:
                    if taker.stp is _CANCEL_RESTING:
                        continue
                    return False
                wanted -= maker.remaining
                if wanted <= 0:
                    return True
        return False

    def _reduce_only_size(self, cmd: NewOrder) -> int:
        """How much of a reduce-only order may be accepted (0 or less: none).

        It must trade against the position stamped on it, and together with the account's
        other resting reduce-only orders on that side it may not exceed the position.
        """
        if cmd.position * cmd.side >= 0:
            return 0
        mine = self._by_account.get(cmd.account)
        reserved = sum(
            order.remaining
            for order in (mine.values() if mine else ())
            if order.command.reduce_only and order.command.side is cmd.side
        )
        room = abs(cmd.position) - reserved
        return min(cmd.size, room - room % self._lot)
