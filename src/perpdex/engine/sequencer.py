"""The engine's front door: number, time-stamp and journal each command, then apply it.

Group commit: entries gather in memory and go to the journal every ``group_size`` commands
(or on ``flush``), where their chain heads are computed and the group is made durable.
The engine applies a command at once, but what it says about the command must not leave
the process before the command is durable: a gateway releases events (acks, fills for
settlement) only up to ``durable_seq``. A crash thus loses only unacknowledged commands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from perpdex.core.types import Address, MarketId
from perpdex.engine.clock import Clock
from perpdex.engine.codec import encode
from perpdex.engine.commands import Command, IndexPrice, NewOrder, Tick
from perpdex.engine.engine import Engine
from perpdex.engine.journal import Journal

PositionSource = Callable[[Address, MarketId], int]
"""The signed position of an account in a market (positive: long), for reduce-only orders."""


DurableListener = Callable[[int, Sequence[bytes], Sequence[bytes]], None]
"""Told ``(first seq, entries, heads)`` of each group a flush made durable: the chain head
after each entry (the gateway signs its receipts with them)."""


def flat(account: Address, market: MarketId) -> int:
    """The default position source: every account is flat."""
    return 0


class Sequencer:
    """Feeds ``engine`` from ``clock`` and (optionally) ``journal``.

    A reduce-only order is stamped with the account's position from ``positions`` here, so
    that the journal holds what the engine decided on; so is an ``IndexPrice`` with the
    positions of the accounts whose held reduce-only orders it releases.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        journal: Journal | None = None,
        *,
        positions: PositionSource = flat,
        group_size: int = 1024,
    ) -> None:
        if group_size < 1:
            raise ValueError("group_size must be positive")
        self.engine = engine
        self.journal = journal
        self.seq = journal.head.seq if journal is not None else 0
        self._durable_seq = self.seq
        self._apply = engine.apply
        self._now = clock.now
        self._positions = positions
        self._group_size = group_size
        self._pending: list[bytes] | None = None if journal is None else []
        self.on_durable: DurableListener | None = None
        """Called by :meth:`flush` after the journal made a group durable."""

    def submit(self, command: Command) -> int:
        """Sequence and apply ``command``; returns its sequence number."""
        seq = self.seq = self.seq + 1
        time = self._now()
        if type(command) is NewOrder and command.reduce_only:
            command = replace(command, position=self._positions(command.account, command.market))
        elif type(command) is IndexPrice:
            command = self._stamp_positions(command)
        pending = self._pending
        if pending is not None:
            pending.append(encode(seq, time, command))
            if len(pending) >= self._group_size:
                self.flush()
        self._apply(seq, time, command)
        return seq

    def _stamp_positions(self, command: IndexPrice) -> IndexPrice:
        releases = self.engine.releases(command.market, command.price)
        accounts = sorted({order.account for order in releases if order.reduce_only})
        positions = tuple(
            (account, self._positions(account, command.market)) for account in accounts
        )
        return replace(command, positions=positions)

    @property
    def durable_seq(self) -> int:
        """Commands up to this one are in the journal for good (all of them, without one)."""
        return self.seq if self._pending is None else self._durable_seq

    def tick(self) -> int | None:
        """Submit a ``Tick`` if a timer is due by now (call it on an idle timer)."""
        due = self.engine.next_due()
        if due is not None and due <= self._now():
            return self.submit(Tick())
        return None

    def flush(self) -> None:
        """Make every submitted command durable (call it when idle, too)."""
        if self.journal is None or self._pending is None:
            return
        written, heads = self._pending, self.journal.append(self._pending)
        self._pending = []
        self.journal.flush()
        first = self._durable_seq + 1
        self._durable_seq = self.seq
        if written and self.on_durable is not None:
            self.on_durable(first, written, heads)
