"""The engine: every market's matching engine, the timers, and the dead-man switches.

``apply`` is a pure function of its input: the sequenced, time-stamped commands. It reads
no wall clock and no outside state, which is what makes a replay of the journal rebuild
every book exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from perpdex.core.types import Address, MarketId, OrderId
from perpdex.engine.clock import ManualClock
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
)
from perpdex.engine.config import MarketConfig
from perpdex.engine.errors import CancelReason, RejectReason
from perpdex.engine.events import EventSink
from perpdex.engine.matching import MatchingEngine
from perpdex.engine.timers import DEAD_MAN, Timer, Timers

_MARKET_COMMANDS: Final = (NewOrder, Cancel, CancelByClientId, CancelAll, Amend, IndexPrice)


def _cancel_all(book: MatchingEngine, seq: int, cmd: CancelAll) -> None:
    book.cancel_all(seq, cmd.account, CancelReason.REQUESTED)


_MARKET_OPS: Final[dict[type, Callable[[MatchingEngine, int, Any], None]]] = {
    NewOrder: MatchingEngine.new_order,
    Cancel: MatchingEngine.cancel,
    CancelByClientId: MatchingEngine.cancel_by_client_id,
    CancelAll: _cancel_all,
    Amend: MatchingEngine.amend,
    IndexPrice: MatchingEngine.index_price,
}


class Engine:
    """All markets of the exchange; each has its own ``MatchingEngine`` and book.

    The engine owns the clock its matching engines read (set to each command's stamp), one
    timer heap for order expiries and dead-man switches, and the switches themselves.
    ``self_trade_prevention`` False lets accounts trade with themselves (the benchmark).
    """

    def __init__(
        self,
        markets: Iterable[MarketConfig],
        sink: EventSink | None = None,
        *,
        self_trade_prevention: bool = True,
    ) -> None:
        self.sink = sink if sink is not None else EventSink()
        self.clock = ManualClock()  # the time stamp of the command being applied
        self.timers = Timers()
        self.markets: dict[MarketId, MatchingEngine] = {
            config.market: MatchingEngine(
                config,
                self.clock,
                self.sink,
                self.timers,
                self_trade_prevention=self_trade_prevention,
            )
            for config in sorted(markets, key=lambda config: config.market)
        }
        self._dead_man: dict[Address, int] = {}

    @property
    def dead_man(self) -> Mapping[Address, int]:
        """Armed dead-man switches: account -> deadline."""
        return MappingProxyType(self._dead_man)

    def next_due(self) -> int | None:
        """When the next timer comes due (a ``Tick`` then makes it fire), if any."""
        return self.timers.next_due()

    def apply(self, seq: int, time: int, command: Command) -> None:
        """Apply one sequenced command stamped with ``time``; timers due by then fire first."""
        self.clock.time = time
        timers = self.timers.heap
        if timers and timers[0][0] <= time:
            self._fire(seq, time)
        if isinstance(command, _MARKET_COMMANDS):
            book = self.markets.get(command.market)
            if book is None:
                self.sink.rejected(seq, command, RejectReason.UNKNOWN_MARKET)
            else:
                _MARKET_OPS[type(command)](book, seq, command)
        elif isinstance(command, CancelAccount):
            self._cancel_account(seq, command.account, CancelReason.REQUESTED)
        elif isinstance(command, SetDeadMan):
            self._set_dead_man(seq, command)
        elif isinstance(command, ChainCancel):
            self._chain_cancel(seq, command)
        # a Tick only lets time pass
        if self.timers.compact_due():
            self.timers.keep(self._applies)

    def releases(self, market: MarketId, price: int) -> list[NewOrder]:
        """The held trigger orders an ``IndexPrice(market, price)`` would release now."""
        book = self.markets.get(market)
        return [] if book is None else book.releases(price)

    def arm_dead_man(self, account: Address, deadline: int) -> None:
        """Arm (or re-arm) a switch, without events: a command's effect, or a snapshot's."""
        self._dead_man[account] = deadline
        self.timers.add_dead_man(deadline, account)

    def _cancel_account(self, seq: int, account: Address, reason: CancelReason) -> None:
        for book in self.markets.values():
            book.cancel_all(seq, account, reason)

    def _chain_cancel(self, seq: int, cmd: ChainCancel) -> None:
        if cmd.rejected is not None:
            self.sink.fill_rejected(seq, cmd.rejected)
        for market, order_id in cmd.orders:
            book = self.markets.get(market)
            if book is not None:
                book.cancel_if_resting(seq, order_id, cmd.reason)

    def _set_dead_man(self, seq: int, cmd: SetDeadMan) -> None:
        if cmd.deadline < 0 or 0 < cmd.deadline <= self.clock.time:
            self.sink.rejected(seq, cmd, RejectReason.BAD_DEADLINE)
            return
        if cmd.deadline:
            self.arm_dead_man(cmd.account, cmd.deadline)
        else:
            self._dead_man.pop(cmd.account, None)
        self.sink.dead_man_set(seq, cmd.account, cmd.deadline)

    def _applies(self, timer: Timer) -> bool:
        """Whether ``timer`` would still do something when it comes due (see ``_fire``)."""
        due, kind, market, order_id, account = timer
        if kind == DEAD_MAN:
            return self._dead_man.get(Address(account)) == due
        return self.markets[MarketId(market)].rests_with_expiry(OrderId(order_id), due)

    def _fire(self, seq: int, now: int) -> None:
        for due, kind, market, order_id, account in self.timers.pop_due(now):
            owner = Address(account)
            if kind == DEAD_MAN:
                if self._dead_man.get(owner) == due:  # not refreshed or disarmed since
                    del self._dead_man[owner]
                    self._cancel_account(seq, owner, CancelReason.DEAD_MAN)
            else:
                self.markets[MarketId(market)].expire(seq, OrderId(order_id), due)
