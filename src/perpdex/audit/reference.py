"""A second matcher, written from the rules in docs/engine.md and nothing of
``perpdex.engine`` but its command types: the audit's witness of price-time priority.

Plain lists: each side of a book is a dict of price -> list of orders (oldest first) and a
sorted list of its prices; held trigger orders are a dict scanned in full by each index
price. It is slower than the engine and meant to be obviously right rather than fast.

An order's terms (trader, market, side, limit price, size, time in force, reduce-only,
trigger) are read from the signed order in its payload when there is one, not from the
fields the journal states beside it: a journal that misstates a trader's order so that the
engine serves someone else first is caught here. Order ids, client ids, expiries (the
engine's clock), self-trade modes and stamped positions are the journal's own.

Every fill is handed to ``on_fill`` *before* the book changes, so a checker can see the
book the choice was made on.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from heapq import heappop, heappush

from perpdex.core.types import Address, ClientOrderId, MarketId, Side, TriggerDirection
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine.commands import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    ChainCancel,
    Command,
    IndexPrice,
    NewOrder,
    SetDeadMan,
    StpMode,
)
from perpdex.engine.config import MarketConfig
from perpdex.settlement.payload import order_of_payload


@dataclass(slots=True, eq=False)
class RefOrder:
    order_id: int
    market: MarketId
    account: Address
    side: Side
    price: int
    size: int
    """The order's total size (an amend sets it); ``remaining`` is what is open of it."""
    remaining: int
    tif: Tif
    reduce_only: bool
    expiry: int
    stp: StpMode
    client_id: ClientOrderId | None
    trigger: TriggerDirection
    trigger_price: int
    position: int
    payload: bytes
    arrival: int = 0
    """When it last entered the book: time priority among orders at one price."""


@dataclass(frozen=True, slots=True)
class RefFill:
    seq: int
    market: MarketId
    taker: RefOrder
    maker: RefOrder
    price: int
    size: int


FillHandler = Callable[[RefFill, "RefBook"], None]


def signed_terms(cmd: NewOrder) -> RefOrder:
    """``cmd`` as the reference holds it: its signed order's terms where it has one."""
    order = RefOrder(
        order_id=cmd.order_id,
        market=cmd.market,
        account=cmd.account,
        side=cmd.side,
        price=cmd.price,
        size=cmd.size,
        remaining=cmd.size,
        tif=cmd.tif,
        reduce_only=cmd.reduce_only,
        expiry=cmd.expiry,
        stp=cmd.stp,
        client_id=cmd.client_id,
        trigger=cmd.trigger,
        trigger_price=cmd.trigger_price,
        position=cmd.position,
        payload=cmd.payload,
    )
    if cmd.payload:
        try:
            signed = order_of_payload(cmd.payload)
        except (ValueError, KeyError):
            return order  # never settles: the chain refuses what it cannot decode
        order.market, order.account, order.side = signed.market, signed.trader, signed.side
        order.price, order.size, order.remaining = signed.limit_price, signed.size, signed.size
        order.tif, order.reduce_only = signed.time_in_force, signed.reduce_only
        order.trigger, order.trigger_price = signed.trigger_direction, signed.trigger_price
    return order


def triggered(order: RefOrder, index: int) -> bool:
    """Whether the index price ``index`` (0: none yet) is on the trigger's side."""
    if index <= 0:
        return False
    if order.trigger is TriggerDirection.AT_OR_ABOVE:
        return index >= order.trigger_price
    return index <= order.trigger_price


class RefBook:
    """One market."""

    def __init__(self, config: MarketConfig, owner: Reference) -> None:
        self.market = config.market
        self.tick = config.tick_size
        self.lot = config.lot_size
        self._owner = owner
        self.levels: dict[Side, dict[int, list[RefOrder]]] = {Side.BUY: {}, Side.SELL: {}}
        self.prices: dict[Side, list[int]] = {Side.BUY: [], Side.SELL: []}
        self.resting: dict[int, RefOrder] = {}
        self.held: dict[int, RefOrder] = {}
        self.of_account: dict[Address, dict[int, RefOrder]] = {}
        """Each account's resting and held orders (so an account's orders cost its own)."""
        self.last_id = 0
        self.index = 0

    # -- reading --------------------------------------------------------------------------

    def queue(self, side: Side) -> Iterator[RefOrder]:
        """The resting orders of ``side``, in the order a taker meets them."""
        prices = self.prices[side]
        for price in reversed(prices) if side is Side.BUY else prices:
            yield from self.levels[side][price]

    def crossing(self, taker: RefOrder, limit: int) -> Iterator[RefOrder]:
        """The resting orders a taker on ``taker.side`` with ``limit`` could meet, in order."""
        for order in self.queue(_opposite(taker.side)):
            if (order.price > limit) if taker.side is Side.BUY else (order.price < limit):
                return
            yield order

    def ahead(self, order: RefOrder) -> bool:
        """Whether ``order`` comes before any other order a taker could meet."""
        return next(self.queue(order.side), None) is order

    def own(self, account: Address) -> list[RefOrder]:
        """The account's resting and held orders, by order id."""
        mine = self.of_account.get(account, {})
        return [mine[order_id] for order_id in sorted(mine)]

    # -- commands -------------------------------------------------------------------------

    def new_order(self, seq: int, order: RefOrder, now: int) -> None:
        if self._bad(order.price, order.size) or order.order_id <= self.last_id:
            return
        if order.expiry and order.expiry <= now:
            return
        if order.client_id is not None and any(
            o.client_id == order.client_id for o in self.own(order.account)
        ):
            return
        if (order.trigger or order.trigger_price) and (
            not order.trigger or order.trigger_price <= 0
        ):
            return
        self.last_id = order.order_id
        if order.trigger:
            if triggered(order, self.index):
                self._release(seq, order, order.size, order.position)
            else:
                self._hold(order, order.size)
            return
        if order.reduce_only:
            room = self._reduce_only_room(order, order.position)
            if room <= 0:
                return
            order.size = order.remaining = room
        if order.tif is Tif.POST_ONLY and self._crosses(order, order.price):
            return
        if order.tif is Tif.FOK and not self._fillable(order, order.size):
            return
        self._enter(seq, order, order.size)

    def cancel(self, order_id: int) -> None:
        order = self.resting.get(order_id)
        if order is not None:
            self._take_off(order)
        elif order_id in self.held:
            self._unhold(self.held[order_id])

    def cancel_by_client_id(self, account: Address, client_id: ClientOrderId) -> None:
        for order in self.own(account):
            if order.client_id == client_id:
                self.cancel(order.order_id)
                return

    def cancel_all(self, account: Address) -> None:
        for order in self.own(account):
            self.cancel(order.order_id)

    def amend(self, seq: int, cmd: Amend) -> None:
        order = self.resting.get(cmd.order_id)
        if order is None:
            return
        price, size = cmd.price, cmd.size
        if cmd.payload:
            try:
                signed = order_of_payload(cmd.payload)
                price, size = signed.limit_price, signed.size
            except (ValueError, KeyError):
                pass  # never settles: the chain refuses what it cannot decode
        keeps_place = price == order.price and size <= order.size
        if self._bad(price, size):
            return
        if not keeps_place:
            if order.reduce_only and size > order.size:
                return
            if order.tif is Tif.POST_ONLY and self._crosses(order, price):
                return
        filled = order.size - order.remaining
        if size <= filled:
            self._take_off(order)
            return
        if cmd.payload:
            order.payload = cmd.payload
        if keeps_place:
            order.size, order.remaining = size, size - filled
            return
        self._take_off(order)
        order.price, order.size = price, size
        self._enter(seq, order, size - filled)

    def index_price(self, seq: int, cmd: IndexPrice) -> None:
        if cmd.price <= 0:
            return
        self.index = cmd.price
        released_resting = [o for o in self.resting.values() if o.trigger]
        for order in sorted(released_resting, key=lambda o: o.order_id):
            if not triggered(order, cmd.price):
                left = order.remaining
                self._take_off(order)
                self._hold(order, left)
        below = sorted(
            (o for o in self.held.values() if o.trigger is TriggerDirection.AT_OR_BELOW),
            key=lambda o: (-o.trigger_price, o.order_id),
        )
        above = sorted(
            (o for o in self.held.values() if o.trigger is TriggerDirection.AT_OR_ABOVE),
            key=lambda o: (o.trigger_price, o.order_id),
        )
        below = [o for o in below if triggered(o, cmd.price)]
        above = [o for o in above if triggered(o, cmd.price)]
        released = (
            sorted(below + above, key=lambda o: o.order_id) if below and above else below or above
        )
        positions = dict(cmd.positions)
        for order in released:
            self._unhold(order)
            position = positions.get(order.account, 0)
            taken = self._release(seq, order, order.remaining, position)
            if taken:
                positions[order.account] = position + order.side * taken

    def expire(self, order_id: int, expiry: int) -> None:
        order = self.resting.get(order_id) or self.held.get(order_id)
        if order is not None and order.expiry == expiry:
            self.cancel(order_id)

    # -- the rules ------------------------------------------------------------------------

    def _bad(self, price: int, size: int) -> bool:
        return size <= 0 or size % self.lot != 0 or price <= 0 or price % self.tick != 0

    def _crosses(self, order: RefOrder, limit: int) -> bool:
        return next(self.crossing(order, limit), None) is not None

    def _fillable(self, taker: RefOrder, size: int) -> bool:
        """Whether ``size`` of ``taker`` would fill now: own orders met first stop it,
        unless it cancels them (their cancellation is no liquidity)."""
        wanted = size
        for maker in self.crossing(taker, taker.price):
            if self._self_trade(taker, maker):
                if taker.stp is StpMode.CANCEL_RESTING:
                    continue
                return False
            wanted -= maker.remaining
            if wanted <= 0:
                return True
        return False

    def _self_trade(self, taker: RefOrder, maker: RefOrder) -> bool:
        return self._owner.self_trade_prevention and taker.account == maker.account

    def _reduce_only_room(self, order: RefOrder, position: int) -> int:
        """How much of a reduce-only order the position leaves room for, in whole lots,
        after the account's other resting reduce-only orders on its side."""
        if position * order.side >= 0:
            return 0
        reserved = sum(
            o.remaining
            for o in self.of_account.get(order.account, {}).values()
            if o.order_id in self.resting and o.reduce_only and o.side is order.side
        )
        room = abs(position) - reserved
        return min(order.size, room - room % self.lot)

    def _enter(self, seq: int, taker: RefOrder, size: int) -> int:
        """Trade ``size`` of ``taker`` against the book, then rest or drop what is left;
        returns what is left (0 when self-trade prevention ended the taker)."""
        while size:
            maker = next(self.crossing(taker, taker.price), None)
            if maker is None:
                break
            if self._self_trade(taker, maker):
                if taker.stp is not StpMode.CANCEL_TAKER:
                    self._take_off(maker)
                if taker.stp is not StpMode.CANCEL_RESTING:
                    return 0
                continue
            traded = min(size, maker.remaining)
            self._owner.on_fill(RefFill(seq, self.market, taker, maker, maker.price, traded), self)
            maker.remaining -= traded
            size -= traded
            if not maker.remaining:
                self._take_off(maker)
        if size and taker.tif in (Tif.GTC, Tif.POST_ONLY):
            self._rest(taker, size)
        return size

    def _release(self, seq: int, order: RefOrder, size: int, position: int) -> int:
        """Enter ``size`` of a trigger order its index crossed; returns what it took (a
        taker ended by self-trade prevention counts as filled)."""
        if order.reduce_only:
            order.position = position
            size = max(min(size, self._reduce_only_room(order, position)), 0)
            if not size:
                return 0
        if order.tif is Tif.POST_ONLY and self._crosses(order, order.price):
            return 0
        if order.tif is Tif.FOK and not self._fillable(order, size):
            return 0
        return size - self._enter(seq, order, size)

    def _rest(self, order: RefOrder, size: int) -> None:
        order.remaining = size
        order.arrival = self._owner.next_arrival()
        level = self.levels[order.side].get(order.price)
        if level is None:
            level = self.levels[order.side][order.price] = []
            insort(self.prices[order.side], order.price)
        level.append(order)
        self.resting[order.order_id] = order
        self.of_account.setdefault(order.account, {})[order.order_id] = order
        self._owner.add_expiry(order)

    def _hold(self, order: RefOrder, size: int) -> None:
        order.remaining = size
        self.held[order.order_id] = order
        self.of_account.setdefault(order.account, {})[order.order_id] = order
        self._owner.add_expiry(order)

    def _unhold(self, order: RefOrder) -> None:
        del self.held[order.order_id]
        self._forget(order)

    def _forget(self, order: RefOrder) -> None:
        mine = self.of_account[order.account]
        del mine[order.order_id]
        if not mine:
            del self.of_account[order.account]

    def _take_off(self, order: RefOrder) -> None:
        del self.resting[order.order_id]
        self._forget(order)
        level = self.levels[order.side][order.price]
        level.remove(order)
        if not level:
            del self.levels[order.side][order.price]
            self.prices[order.side].remove(order.price)


def _opposite(side: Side) -> Side:
    return Side.SELL if side is Side.BUY else Side.BUY


class Reference:
    """Every market's reference book, the expiry and dead-man clock, and the commands."""

    def __init__(
        self,
        markets: list[MarketConfig],
        on_fill: FillHandler,
        *,
        self_trade_prevention: bool = True,
    ) -> None:
        self.self_trade_prevention = self_trade_prevention
        self.on_fill = on_fill
        self.books = {
            config.market: RefBook(config, self)
            for config in sorted(markets, key=lambda c: c.market)
        }
        self._arrivals = 0
        self._dead_man: dict[Address, int] = {}
        self._due: list[tuple[int, int, MarketId, int, Address]] = []
        """(when, 0 for a dead-man switch / 1 for an expiry, market, order id, account)."""

    def next_arrival(self) -> int:
        self._arrivals += 1
        return self._arrivals

    def add_expiry(self, order: RefOrder) -> None:
        if order.expiry:
            heappush(self._due, (order.expiry, 1, order.market, order.order_id, Address("")))

    def apply(self, seq: int, now: int, command: Command) -> None:
        self._fire(now)
        match command:
            case NewOrder():
                order = signed_terms(command)
                book = self.books.get(order.market)
                if book is not None:
                    book.new_order(seq, order, now)
            case Cancel():
                self._in(command.market, lambda b: b.cancel(command.order_id))
            case CancelByClientId():
                self._in(
                    command.market,
                    lambda b: b.cancel_by_client_id(command.account, command.client_id),
                )
            case CancelAll():
                self._in(command.market, lambda b: b.cancel_all(command.account))
            case Amend():
                self._in(command.market, lambda b: b.amend(seq, command))
            case IndexPrice():
                self._in(command.market, lambda b: b.index_price(seq, command))
            case CancelAccount():
                self._cancel_account(command.account)
            case SetDeadMan():
                if command.deadline < 0 or 0 < command.deadline <= now:
                    return
                if command.deadline:
                    self._dead_man[command.account] = command.deadline
                    heappush(self._due, (command.deadline, 0, MarketId(0), 0, command.account))
                else:
                    self._dead_man.pop(command.account, None)
            case ChainCancel():
                for market, order_id in command.orders:
                    self._in(market, lambda b, order_id=order_id: b.cancel(order_id))  # type: ignore[misc]

    def _in(self, market: MarketId, act: Callable[[RefBook], None]) -> None:
        book = self.books.get(market)
        if book is not None:
            act(book)

    def _cancel_account(self, account: Address) -> None:
        for book in self.books.values():
            book.cancel_all(account)

    def _fire(self, now: int) -> None:
        """Expiries and dead-man deadlines due by ``now``, in time order (a switch before an
        expiry at the same time, then by market and order id)."""
        due = self._due
        while due and due[0][0] <= now:
            when, kind, market, order_id, account = heappop(due)
            if kind == 0:
                if self._dead_man.get(account) == when:
                    del self._dead_man[account]
                    self._cancel_account(account)
            else:
                self.books[market].expire(order_id, when)
