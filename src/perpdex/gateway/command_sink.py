"""Where the gateway's commands go, and what it learns of each: the seam between the
gateway and an engine in its process (embedded, :class:`LocalCommands`) or engine shards
behind JetStream (cluster mode, ``perpdex.cluster.gateway_commands``).

Either way the gateway reads the engine through an :class:`EngineView` (its books and the
clock of the command being applied) and its feeds hear the engine's events on a bus; what
differs is when a command's outcome is known: at once here, after the replica of its shard
applied it there (or not within the gateway's wait: ``Outcome.applied`` False).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from perpdex.core.eip712 import SignedOrder
from perpdex.core.types import OrderId, ShardId
from perpdex.engine.commands import Command, NewOrder
from perpdex.engine.errors import RejectReason
from perpdex.engine.journal import Journal
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.feeds import EngineView, Feeds
from perpdex.gateway.orders import OrderRecord, OrderRegistry


@dataclass(frozen=True, slots=True)
class JournalPoint:
    """Where an applied command's entry stands: its shard's journal, the chain's head after
    it, and the time the engine gave it (what a receipt names beside its seq)."""

    shard: ShardId
    head: bytes
    time: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did, as far as the gateway answers it.

    ``applied`` False: durable (in the command stream) but not applied by the engine
    within the gateway's wait, so ``seq`` is 0 and the rest unknown; an order's fate then
    comes as account events, like any later one."""

    seq: int
    applied: bool = True
    rejection: RejectReason | None = None
    filled: bool = False
    cancelled: int = 0
    entry: JournalPoint | None = None
    """Known when the outcome is: a replica applies only durable entries (cluster mode);
    None where the outcome comes before its entry is durable (the embedded sequencer)."""


class CommandSink(Protocol):
    @property
    def engine(self) -> EngineView: ...

    @property
    def seq(self) -> int:
        """The last command applied (cluster mode: the furthest any shard's replica got)."""

    @property
    def journal(self) -> Journal | None:
        """The journal the gateway may read over HTTP (None: none here)."""

    def attach(
        self,
        feeds: Feeds,
        registry: OrderRegistry,
        accounts: AccountLog,
        release: Callable[[], None],
    ) -> None:
        """The gateway's feeds, order registry and account log, once it made them, and
        how to have it send the frames of commands applied outside a request."""

    def next_order_id(self) -> OrderId:
        """The id of the next order (0 where the engine assigns them)."""

    async def place(self, command: NewOrder, record: OrderRecord) -> Outcome:
        """Place ``command``; ``record`` is the gateway's record of it, which the sink
        registers under the order's id once known (the engine's, where it assigns them)."""

    async def submit(self, command: Command, signed: SignedOrder | None = None) -> Outcome:
        """``signed``: the order an ``Amend`` amends to."""

    def submit_detached(self, command: Command) -> None:
        """A command whose outcome nobody waits for (cancel on disconnect; the node's
        commands from the chain)."""

    def flush(self) -> None:
        """Make every command submitted here durable (before frames about them leave)."""

    def tick(self) -> bool:
        """Let the engine's timers fire if due; True if it applied something."""


class LocalCommands:
    """The engine in this process: a command is sequenced, applied and answered at once."""

    def __init__(self, sequencer: Sequencer) -> None:
        self.sequencer = sequencer
        self.engine = sequencer.engine
        self._next_order_id = 1 + max(
            (book.last_order_id for book in self.engine.markets.values()), default=0
        )
        self._feeds: Feeds | None = None
        self._registry: OrderRegistry | None = None
        self._accounts: AccountLog | None = None

    @property
    def seq(self) -> int:
        return self.sequencer.seq

    @property
    def journal(self) -> Journal | None:
        return self.sequencer.journal

    def attach(
        self,
        feeds: Feeds,
        registry: OrderRegistry,
        accounts: AccountLog,
        release: Callable[[], None],
    ) -> None:
        self._feeds, self._registry, self._accounts = feeds, registry, accounts

    def next_order_id(self) -> OrderId:
        order_id = self._next_order_id
        self._next_order_id += 1
        return OrderId(order_id)

    async def place(self, command: NewOrder, record: OrderRecord) -> Outcome:
        assert self._registry is not None, "attach first"
        self._registry.add(record)
        return self.apply(command, record.signed)

    async def submit(self, command: Command, signed: SignedOrder | None = None) -> Outcome:
        if signed is None:
            return self.apply(command)
        feeds = self._feeds
        assert feeds is not None, "attach first"
        feeds.amending = signed
        try:
            return self.apply(command, signed)
        finally:
            feeds.amending = None

    def submit_detached(self, command: Command) -> None:
        self.apply(command)

    def apply(self, command: Command, signed: SignedOrder | None = None) -> Outcome:
        """Sequence and apply ``command`` (placing or amending to ``signed``) now."""
        feeds, accounts = self._feeds, self._accounts
        assert feeds is not None and accounts is not None, "attach first"
        feeds.begin_command()
        # the account log would hash the order's payload again to learn it
        accounts.incoming_hash = None if signed is None else signed.order_hash
        try:
            seq = self.sequencer.submit(command)
        finally:
            accounts.incoming_hash = None
        feeds.end_command()
        return Outcome(
            seq, rejection=feeds.rejection, filled=feeds.filled, cancelled=feeds.cancelled
        )

    def flush(self) -> None:
        self.sequencer.flush()

    def tick(self) -> bool:
        return self.sequencer.tick() is not None
