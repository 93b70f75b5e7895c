"""The engine shard process (``perpdex engine --shard K``): the one writer of shard K.

It reads ``<prefix>.cmd.K`` in stream order, sequences each command (a new order numbered
by its stream sequence, ``perpdex.cluster.commands``), makes the group durable in the
shard's :class:`~perpdex.cluster.journal.JetStreamJournal`, then publishes the group's
events to ``<PREFIX>_EVT_K`` (``perpdex.cluster.event_stream``).

Exactly once. Every journal message records in ``Perpdex-Cmd-Seq`` the highest command
sequence its entries cover (a timer's ``Tick`` the previous one), so the engine starts
from its journal's last message: it replays the journal into a fresh engine, then reads
the command stream from the next sequence on (an ordered consumer: the journal, not
acknowledgements, says what was applied). A command applied but not yet durable when the
process dies is read and applied again by its successor, once.

Events. After each flush the group's events go out, fenced like the journal; at start the
events of the journal entries past the event stream's end (the last group of an engine
that died between its flush and its publish) are made again by the replay and published.

Takeover: right after its replay the engine journals a ``Tick``, so an older engine of the
shard still running is fenced at its next write, whatever either does next.

Stops: SIGTERM or SIGINT (the current group is flushed and published, then the journal
closed); a :class:`~perpdex.cluster.errors.JournalFencedError` or
:class:`~perpdex.cluster.event_stream.EventsFencedError` (a newer engine took the shard
over: this one exits at once). While JetStream cannot take the journal, the group stays
queued and the flush is retried (logged once); no new command is taken meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Final, TypeVar

import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from perpdex.cluster.commands import WireCommand, decode_numbered
from perpdex.cluster.errors import (
    JetStreamUnavailableError,
    JournalFencedError,
    JournalUnavailableError,
)
from perpdex.cluster.event_codec import encode_event
from perpdex.cluster.event_stream import (
    EventCursor,
    EventMessage,
    EventPublisher,
    EventsFencedError,
    messages,
)
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.signed_terms import UnsignedCommandError, check_signed
from perpdex.cluster.snapshots import SnapshotStore
from perpdex.cluster.status import StatusReporter, status_bucket
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_stream
from perpdex.cluster.transport import UNAVAILABLE, connect, unavailable_on_failure
from perpdex.core.eip712 import Eip712Domain
from perpdex.core.types import Address, MarketId, OrderId
from perpdex.engine.clock import WallClock
from perpdex.engine.codec import DecodeError
from perpdex.engine.commands import IndexPrice, NewOrder, Tick
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.errors import JournalError, SnapshotError
from perpdex.engine.events import Event, EventBus
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, JournalEntry
from perpdex.engine.replay import replay
from perpdex.engine.sequencer import Sequencer
from perpdex.engine.snapshot import load_snapshot, snapshot_bytes
from perpdex.logs import report_failure, report_recovery

log = logging.getLogger(__name__)
T = TypeVar("T")

_RETRY_S: Final = 0.5
_HEARTBEAT_S: Final = 1.0  # the command consumer's: two missed and nats-py re-makes it
FENCED_EXIT: Final = 3
"""The process's exit code when a newer engine took its shard over."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineProcessConfig:
    shard: ShardId
    servers: tuple[str, ...]
    layout: StreamLayout
    markets: tuple[MarketConfig, ...]
    """The deployment's markets; the shard serves those ``layout.shard_of`` gives it."""
    domain: Eip712Domain
    """The Exchange's signing domain: an order whose terms its trader did not sign under
    it is dropped before it is journaled (``perpdex.cluster.signed_terms``)."""
    batch_max: int = 1024
    """Commands per journal group at most (one journal publish, one event message)."""
    tick_interval_s: float = 0.1
    """How often an idle engine looks for due order expiries and dead-man switches."""
    flush_timeout_s: float = 15.0
    book_deltas: bool = False
    """Publish ``BookDelta`` events too (readers with a replica make their own)."""
    snapshot_every: int = 100_000
    """Journal entries between snapshots (0: none); a start replays only those after the
    last one."""
    name: str = field(default="")
    """The status board's name (default ``engine-<shard>``)."""

    def __post_init__(self) -> None:
        if self.batch_max < 1:
            raise ValueError("batch_max must be positive")
        if not 0 <= self.shard < self.layout.shards:
            raise ValueError(f"shard {self.shard} is not one of {self.layout.shards}")
        if not self.name:
            object.__setattr__(self, "name", f"engine-{self.shard}")

    @property
    def shard_markets(self) -> tuple[MarketConfig, ...]:
        return tuple(m for m in self.markets if self.layout.shard_of(m.market) == self.shard)


class _MarkedJournal:
    """The shard's journal as the sequencer sees it: each entry goes to ``append`` with the
    command sequence it covers, noted by ``mark`` before it is submitted."""

    def __init__(self, journal: JetStreamJournal) -> None:
        self.inner = journal
        self._marks: list[int] = []

    @property
    def head(self) -> ChainHead:
        return self.inner.head

    def mark(self, command_seq: int) -> None:
        self._marks.append(command_seq)

    def append(self, entries: Sequence[bytes]) -> list[bytes]:
        marks, self._marks = self._marks[: len(entries)], self._marks[len(entries) :]
        # a message without its mark would read as "no command yet" at the next start
        if len(marks) != len(entries):
            raise RuntimeError(f"{len(entries)} entries, {len(marks)} command sequences")
        return self.inner.append(entries, marks)

    def flush(self) -> None:
        self.inner.flush()

    def read(self, after: ChainHead = GENESIS_HEAD) -> Iterator[JournalEntry]:
        return self.inner.read(after)

    def close(self) -> None:
        self.inner.close()


class _CarriedPositions:
    """The position source of a shard without a position manager: what the command being
    submitted carries (a reduce-only order its account's, an index price every account's
    with a position in its market; flat otherwise)."""

    def __init__(self) -> None:
        self._positions: dict[Address, int] = {}

    def carry(self, command: WireCommand) -> None:
        if type(command) is NewOrder:
            self._positions = {command.account: command.position}
        elif type(command) is IndexPrice:
            self._positions = dict(command.positions)
        else:
            self._positions = {}

    def __call__(self, account: Address, market: MarketId) -> int:
        return self._positions.get(account, 0)


class _Stopped(Exception):
    """Asked to stop while waiting for JetStream."""


class ShardEngine:
    """One run of the engine of ``config.shard``: ``await run()`` until stopped or fenced."""

    def __init__(self, config: EngineProcessConfig) -> None:
        self.config = config
        self._stopping = asyncio.Event()
        self._queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._events: defaultdict[int, list[bytes]] = defaultdict(list)  # by journal entry
        self._collect_after = 0  # events of entries after this one are kept for publishing
        self._published = 0  # the last journal entry whose events are out
        self._command_seq = 0  # the last command sequence applied
        self._pending_upstream = 0  # commands the consumer has not delivered yet
        self._positions = _CarriedPositions()
        self._clock = WallClock()
        self._snapshot_seq = 0  # the journal entry of the last snapshot taken or read
        self._subscription: JetStreamContext.PushSubscription | None = None
        self._resubscribing: asyncio.Task[None] | None = None
        self._generation = 0  # of the command subscription: an older one's messages are late
        self._delivered = 0  # the consumer's count of the last message queued
        self._queued = 0  # the stream sequence of the last command queued
        self._snapshots: SnapshotStore

    def stop(self) -> None:
        """Finish the group in hand, flush it, publish its events and return from ``run``."""
        self._stopping.set()

    async def run(self) -> int:
        """0 once stopped, :data:`FENCED_EXIT` when another engine took the shard over."""
        config = self.config
        nc: Client | None = None
        reporter: asyncio.Task[None] | None = None
        journal: _MarkedJournal | None = None
        try:
            log.info("engine %s: connecting to %s", config.name, ",".join(config.servers))
            # nats-py tries the servers until one answers: only a stop ends the wait
            nc = await self._unless_stopped(connect(config.servers, name=config.name))
            js = nc.jetstream(timeout=2.0)
            publisher, cursor = await self._open_events(js)
            journal = _MarkedJournal(await self._open_journal())
            self._snapshots = SnapshotStore(js, config.layout)
            sequencer = await self._recover(journal, cursor)
            await self._catch_up(publisher, cursor, sequencer.seq)
            await self._claim(sequencer, publisher)
            await self._subscribe(js, journal.inner.command_seq)
            reporter = await self._report(js)
            log.info(
                "engine %s serving markets %s from command %d (journal entry %d)",
                config.name,
                [m.market for m in config.shard_markets],
                self._command_seq + 1,
                sequencer.seq,
            )
            await self._serve(sequencer, publisher)
            return 0
        except (JournalFencedError, EventsFencedError) as error:
            log.error(
                "engine %s stops: a newer engine took the shard over (%s)", config.name, error
            )
            return FENCED_EXIT
        except _Stopped as stopped:
            log.warning("engine %s stopped while JetStream was away: %s", config.name, stopped)
            return 0
        finally:
            for task in (reporter, self._resubscribing):
                if task is not None:
                    task.cancel()
            if journal is not None:
                await asyncio.to_thread(_close_quietly, journal.inner)
            if nc is not None:
                with suppress(*UNAVAILABLE):
                    await nc.close()

    # -- start ----------------------------------------------------------------------------

    async def _open_events(self, js: JetStreamContext) -> tuple[EventPublisher, EventCursor]:
        publisher = EventPublisher(js, self.config.layout, self.config.shard)
        return publisher, await self._retrying("open the event stream", publisher.open)

    async def _open_journal(self) -> JetStreamJournal:
        config = self.config

        async def opened() -> JetStreamJournal:
            return await asyncio.to_thread(
                JetStreamJournal,
                config.servers,
                config.layout,
                config.shard,
                flush_timeout_s=config.flush_timeout_s,
            )

        return await self._retrying("open the journal", opened)

    async def _recover(self, journal: _MarkedJournal, cursor: EventCursor) -> Sequencer:
        """The engine as of the journal's end: from the shard's snapshot if one fits, else
        from genesis; the events of entries past ``cursor`` are kept for ``_catch_up``."""
        bus = EventBus(book_deltas=self.config.book_deltas)
        bus.subscribe(self._collect)
        self._collect_after = cursor.seq
        engine = await self._from_snapshot(journal, cursor, bus)
        if engine is None:
            engine = Engine(self.config.shard_markets, bus)
            await asyncio.to_thread(replay, engine, journal)
        self._command_seq = journal.inner.command_seq
        self._collect_after = 0
        self._snapshot_seq = journal.head.seq
        return Sequencer(
            engine,
            self._clock,
            journal,
            positions=self._positions,
            group_size=self.config.batch_max + 2,  # never inside submit: a group and a tick
        )

    async def _from_snapshot(
        self, journal: _MarkedJournal, cursor: EventCursor, bus: EventBus
    ) -> Engine | None:
        """The engine from the shard's snapshot and the journal after it, or None where no
        snapshot fits: none, other markets (or tick and lot sizes), past the journal's end,
        or past the event stream's end (the events in between could not be made again)."""
        try:
            async with unavailable_on_failure("read the snapshot"):
                data = await self._snapshots.get(self.config.shard)
        except JetStreamUnavailableError as error:
            log.warning("no snapshot read (%s): replaying the journal from its start", error)
            return None
        if data is None:
            return None
        try:
            engine, head = load_snapshot(data, bus)
        except SnapshotError as error:
            log.warning("snapshot not used: %s", error)
            return None
        markets = {book.config for book in engine.markets.values()}
        if markets != set(self.config.shard_markets) or head.seq > min(
            journal.head.seq, cursor.seq
        ):
            log.warning(
                "snapshot at entry %d not used (markets %s, journal to %d, events to %d)",
                head.seq,
                sorted(engine.markets),
                journal.head.seq,
                cursor.seq,
            )
            return None
        try:
            await asyncio.to_thread(replay, engine, journal, head)
        except JournalError as error:  # the journal does not pass through its head
            log.error("snapshot at entry %d not used: %s", head.seq, error)
            self._events.clear()
            return None
        log.info("engine rebuilt from the snapshot at journal entry %d", head.seq)
        return engine

    async def _catch_up(self, publisher: EventPublisher, cursor: EventCursor, head: int) -> None:
        """Publish the events of journal entries ``cursor`` leaves out."""
        if head > cursor.seq:
            log.info("events of journal entries %d to %d: publishing", cursor.seq + 1, head)
        out = self._messages(cursor.seq + 1, head)
        for message in out[cursor.parts :]:
            await self._publish(publisher, message)
        self._published = head

    async def _claim(self, sequencer: Sequencer, publisher: EventPublisher) -> None:
        """Take the shard over now: a ``Tick`` journaled at once fences any older engine
        still running (its next write is refused), instead of whichever writes first."""
        assert isinstance(sequencer.journal, _MarkedJournal)
        sequencer.journal.mark(self._command_seq)
        sequencer.submit(Tick())
        await self._commit(sequencer, publisher)

    async def _subscribe(self, js: JetStreamContext, after: int) -> None:
        """Read the shard's commands from the one after ``after`` (a stream sequence)."""
        layout, shard = self.config.layout, self.config.shard
        generation = self._generation = self._generation + 1
        self._delivered = 0
        self._queued = after

        async def on_command(msg: Msg) -> None:
            self._on_command(msg, js, generation)

        async def subscribe() -> JetStreamContext.PushSubscription:
            await ensure_stream(js, layout.command_config())
            return await js.subscribe(
                layout.command_subject(shard),
                stream=layout.command_stream,
                cb=on_command,
                ordered_consumer=True,
                idle_heartbeat=_HEARTBEAT_S,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                config=ConsumerConfig(opt_start_seq=after + 1),
            )

        self._subscription = await self._retrying("subscribe to the commands", subscribe)

    async def _report(self, js: JetStreamContext) -> asyncio.Task[None] | None:
        try:
            async with unavailable_on_failure("status bucket"):
                bucket = await status_bucket(js, self.config.layout)
        except JetStreamUnavailableError as error:
            log.warning("no status reports: %s", error)
            return None
        reporter = StatusReporter(
            bucket,
            self.config.name,
            "engine",
            self.config.shard,
            lambda: (self._command_seq, self._pending_upstream + self._queue.qsize()),
        )
        return asyncio.create_task(reporter.run())

    # -- serving --------------------------------------------------------------------------

    def _on_command(self, msg: Msg, js: JetStreamContext, generation: int) -> None:
        """Queue ``msg``, unless the delivery skipped one (the consumer's own count, which a
        re-made ordered consumer starts at 1 again): a command dropped on the way would be
        missing from the journal for good, so the commands are read again from the one
        after the last queued. ``generation``: of the subscription that delivered it."""
        if generation != self._generation:
            return  # late, from a subscription given up
        metadata = msg.metadata
        if metadata.sequence.consumer not in (1, self._delivered + 1):
            log.warning(
                "delivery %d after %d: reading the commands again from %d",
                metadata.sequence.consumer,
                self._delivered,
                self._queued + 1,
            )
            self._generation += 1  # the old subscription's messages are ignored from now on
            self._resubscribing = asyncio.create_task(self._resubscribe(js))
            return
        self._delivered = metadata.sequence.consumer
        self._queued = max(self._queued, metadata.sequence.stream)
        self._pending_upstream = metadata.num_pending
        self._queue.put_nowait(msg)

    async def _resubscribe(self, js: JetStreamContext) -> None:
        old, self._subscription = self._subscription, None
        if old is not None:
            with suppress(*UNAVAILABLE, nats.js.errors.Error):
                await old.unsubscribe()
        await self._subscribe(js, self._queued)

    async def _serve(self, sequencer: Sequencer, publisher: EventPublisher) -> None:
        journal = sequencer.journal
        assert isinstance(journal, _MarkedJournal)
        while not self._stopping.is_set():
            for msg in await self._take():
                self._apply(sequencer, journal, msg)
            due = sequencer.engine.next_due()
            if due is not None and due <= self._clock.now():
                journal.mark(self._command_seq)  # a tick covers no command
                sequencer.submit(Tick())
            if sequencer.seq > self._published:
                await self._commit(sequencer, publisher)

    async def _take(self) -> list[Msg]:
        """The commands in hand (``batch_max`` at most), waiting up to a tick interval for
        the first, or until ``stop``."""
        queue = self._queue
        if queue.empty():
            waiting = asyncio.ensure_future(queue.get())
            stopping = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait(
                (waiting, stopping),
                timeout=self.config.tick_interval_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            stopping.cancel()
            if not waiting.done():
                waiting.cancel()
                return []
            batch = [waiting.result()]
        else:
            batch = []
        while len(batch) < self.config.batch_max and not queue.empty():
            batch.append(queue.get_nowait())
        return batch

    def _apply(self, sequencer: Sequencer, journal: _MarkedJournal, msg: Msg) -> None:
        stream_seq = msg.metadata.sequence.stream
        if stream_seq <= self._command_seq:
            return  # in the journal already: a re-made consumer starts a little early
        try:
            command = decode_numbered(msg.data, stream_seq)
            check_signed(command, self.config.domain, partial(_account_of, sequencer.engine))
        except DecodeError as error:
            log.error("command %d is not one (%s): skipped", stream_seq, error)
            return
        except UnsignedCommandError as error:
            log.error("command %d is not what its trader signed (%s): skipped", stream_seq, error)
            return
        self._command_seq = stream_seq
        self._positions.carry(command)
        journal.mark(stream_seq)
        sequencer.submit(command)

    async def _commit(self, sequencer: Sequencer, publisher: EventPublisher) -> None:
        """Make the group durable (off the loop: a flush may wait ``flush_timeout_s``),
        then publish its events."""
        while True:
            try:
                await asyncio.to_thread(sequencer.flush)
                break
            except JournalUnavailableError as error:
                report_failure(log, self, "journal flush", error)
                if self._stopping.is_set():
                    return  # not durable: a successor reads these commands again
                await asyncio.sleep(_RETRY_S)
        report_recovery(log, self, "journal flush")
        for message in self._messages(self._published + 1, sequencer.seq):
            await self._publish(publisher, message)
        self._published = sequencer.seq
        every = self.config.snapshot_every
        if every and sequencer.seq - self._snapshot_seq >= every:
            await self._snapshot(sequencer)

    async def _snapshot(self, sequencer: Sequencer) -> None:
        """Store the engine's state as of the journal's head (all of it durable now); a
        failure costs only a longer replay at the next start."""
        assert sequencer.journal is not None
        data = snapshot_bytes(sequencer.engine, sequencer.journal.head)
        try:
            async with unavailable_on_failure("store the snapshot"):
                await self._snapshots.put(self.config.shard, data)
        except JetStreamUnavailableError as error:
            report_failure(log, self, "snapshot", error)
            return
        report_recovery(log, self, "snapshot")
        self._snapshot_seq = sequencer.seq
        log.info("snapshot at journal entry %d (%d bytes)", sequencer.seq, len(data))

    def _collect(self, event: Event) -> None:
        if event.seq > self._collect_after:
            self._events[event.seq].append(encode_event(event))

    def _messages(self, first: int, last: int) -> list[EventMessage]:
        """The event messages of journal entries ``first`` to ``last`` (their events are
        then forgotten)."""
        events = self._events
        entries = [(seq, events.pop(seq, [])) for seq in range(first, last + 1)]
        return list(messages(entries))

    async def _publish(self, publisher: EventPublisher, message: EventMessage) -> None:
        await self._retrying(
            f"publish events to {message.last}", lambda: publisher.publish(message)
        )

    async def _unless_stopped(self, waiting: Awaitable[T]) -> T:
        task = asyncio.ensure_future(waiting)
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            raise _Stopped("no NATS server answered")
        return task.result()

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()`` until JetStream takes it (a failure logged once, its recovery), or
        :class:`_Stopped` if asked to stop meanwhile (nothing is lost: what the journal
        does not hold is read again from the command stream, what the event stream does
        not hold is published at the next start)."""
        while True:
            try:
                async with unavailable_on_failure(what):
                    result = await attempt()
            except (JetStreamUnavailableError, JournalUnavailableError) as error:
                if self._stopping.is_set():
                    raise _Stopped(f"{what}: {error}") from error
                report_failure(log, self, what, error)
                await asyncio.sleep(_RETRY_S)
                continue
            report_recovery(log, self, what)
            return result


def _account_of(engine: Engine, market: MarketId, order_id: OrderId) -> Address | None:
    book = engine.markets.get(market)
    return None if book is None else book.account_of(order_id)


def _close_quietly(journal: JetStreamJournal) -> None:
    """Close the journal; a flush it cannot make is no loss (the commands are re-read)."""
    try:
        journal.close()
    except (JournalUnavailableError, JournalFencedError) as error:
        log.warning("journal closed without its last flush: %s", error)


async def run_engine(config: EngineProcessConfig) -> int:
    """Run the shard's engine until SIGTERM or SIGINT (or fenced); the exit code."""
    engine = ShardEngine(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, engine.stop)
    try:
        return await engine.run()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
