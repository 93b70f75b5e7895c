"""A journal follower: a deterministic replica of one engine shard, fed by its journal.

Every reader of cluster mode (gateways, later the HTTP reader and the risk process) keeps
its own replica of each shard instead of asking the engine: :class:`JournalFollower`
reads ``PERPDEX_JOURNAL_<shard>`` from its first message, checks each entry against the
keccak chain (:class:`~perpdex.engine.journal.ChainCheck`, what ``JetStreamJournal.read``
checks), and applies it to a local :class:`~perpdex.engine.engine.Engine` exactly as
``replay`` does. ``Engine.apply`` is a pure function of the journal, so the replica's
books and events are the writer's, by construction; its event sink (an ``EventBus``,
possibly shared by the replicas of several shards) drives the same handlers as in the
embedded node, and a :class:`ReplicaListener` hears where each entry begins and ends.

The read never ends: an ordered push consumer (nats-py's; ephemeral, in memory, on one
server, re-made from the next message when its heartbeats stop, e.g. its node died)
delivers the history, then each new message as the engine's flush lands. The follower
counts stream sequences itself: a message it already applied (a re-made consumer's) is
skipped, and a gap (a message dropped as a slow consumer) re-subscribes from the first
missing one; a chain or decode error stops the replica for good (``failed``): its state
would no longer be the writer's.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from contextlib import suppress
from itertools import count
from typing import Final, Protocol

import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.journal import unpack_message
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_stream
from perpdex.cluster.transport import (
    RETRY_S,
    UNAVAILABLE,
    unavailable_on_failure,
    until_available,
)
from perpdex.engine.codec import seq_of
from perpdex.engine.commands import Command
from perpdex.engine.engine import Engine
from perpdex.engine.errors import JournalError
from perpdex.engine.journal import GENESIS_HEAD, ChainCheck, ChainHead
from perpdex.engine.replay import decode_entry

log = logging.getLogger(__name__)

HEARTBEAT_S: Final = 1.0
"""The consumer's idle heartbeat: two missed and nats-py re-makes it (a dead node's)."""
_API_TIMEOUT_S: Final = 2.0


class ReplicaListener(Protocol):
    """Told around each entry the replica applies (its events come in between), and after
    each journal message (a group commit of the engine)."""

    def entry_begins(self, shard: ShardId, time: int, command: Command) -> None: ...

    def entry_ends(self, shard: ShardId, seq: int, command: Command) -> None: ...

    def message_applied(self, shard: ShardId) -> None: ...


class JournalFollower:
    """The replica of ``shard``: ``engine`` (fresh, the shard's markets, its sink the
    replica's event bus) follows the shard's journal from genesis once ``start`` ran."""

    def __init__(
        self,
        nc: Client,
        layout: StreamLayout,
        shard: ShardId,
        engine: Engine,
        *,
        listener: ReplicaListener | None = None,
    ) -> None:
        self.layout = layout
        self.shard = shard
        self.engine = engine
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream(timeout=_API_TIMEOUT_S)
        self._stream = layout.journal_stream(shard)
        self._subject = layout.journal_subject(shard)
        self._listener = listener
        self._check = ChainCheck(GENESIS_HEAD)
        self._head = GENESIS_HEAD
        self._next_message = 1  # the stream sequence of the next message to apply
        self._subscription: JetStreamContext.PushSubscription | None = None
        self._resubscribing: asyncio.Task[None] | None = None
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []  # (seq, n, future)
        self._tiebreak = count()
        self.lag = 0
        """Messages of the stream after the last one delivered (the consumer's count)."""
        self.failed: Exception | None = None
        """Why the replica stopped (a bad entry, a failed handler): it no longer follows
        the writer."""

    @property
    def head(self) -> ChainHead:
        """The chain head after the last entry applied to the replica."""
        return self._head

    async def start(self, timeout_s: float = 15.0) -> None:
        """Subscribe from the next message (retrying while JetStream elects a leader, up
        to ``timeout_s``; then ``JetStreamUnavailableError``)."""

        async def subscribe() -> None:
            async with unavailable_on_failure(f"follow {self._stream}"):
                await ensure_stream(self._js, self.layout.journal_config(self.shard))
                await self._subscribe()

        await until_available(subscribe, timeout_s)

    async def caught_up(self, timeout_s: float = 60.0) -> None:
        """Wait until the replica applied every entry the stream held when called.

        The tail is read again while it times out (``until_available``): its answer can
        wait behind the history this process applies (another shard's replica on the
        same loop), and a process that gave up after one API timeout never started once
        that history took longer than the timeout to apply."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        seq = await until_available(self._last_entry, timeout_s)
        if seq and not await self.reached(seq, max(0.0, deadline - loop.time())):
            raise JetStreamUnavailableError(f"{self._stream}: not caught up in {timeout_s} s")

    async def _last_entry(self) -> int:
        """The seq of the stream's last entry (0: none)."""
        async with unavailable_on_failure(f"the tail of {self._stream}"):
            info = await self._js.stream_info(self._stream)
            last = info.state.last_seq
            if last == 0:
                return 0
            stored = await self._js.get_msg(self._stream, last, direct=True)
        _, entry, _ = unpack_message(last, stored.data or b"")[-1]
        return seq_of(entry)

    async def reached(self, seq: int, timeout_s: float) -> bool:
        """Wait until the replica applied entry ``seq``; False if not within ``timeout_s``."""
        if self._head.seq >= seq:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (seq, next(self._tiebreak), future))
        try:
            # not wait_for: on 3.11 it swallows a cancel that arrives as the entry does
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(future)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._resubscribing is not None:
            self._resubscribing.cancel()
            with suppress(asyncio.CancelledError):
                await self._resubscribing
        await self._unsubscribe()
        for _, _, future in self._waiters:
            future.cancel()
        self._waiters.clear()

    # -- the consumer ---------------------------------------------------------------------

    async def _subscribe(self) -> None:
        self._subscription = await self._js.subscribe(
            self._subject,
            stream=self._stream,
            cb=self._on_message,
            ordered_consumer=True,
            idle_heartbeat=HEARTBEAT_S,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            config=ConsumerConfig(opt_start_seq=self._next_message),
        )

    async def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with suppress(*UNAVAILABLE, nats.js.errors.Error):
                await subscription.unsubscribe()

    async def _on_message(self, msg: Msg) -> None:
        if self.failed is not None:
            return
        message = msg.metadata.sequence.stream
        if message < self._next_message:
            return  # applied already: a re-made consumer starts a little early
        if message > self._next_message:
            if self._resubscribing is not None:
                return  # the old subscription's, or the new one's ahead of its start
            log.warning(
                "%s: message %d arrived, %d expected: following again from there",
                self._stream,
                message,
                self._next_message,
            )
            self._resubscribing = asyncio.create_task(self._resubscribe())
            return
        listener, shard = self._listener, self.shard
        try:
            for frame in unpack_message(message, msg.data):
                item = self._check(frame)
                if item is None:
                    continue
                seq, time, command = decode_entry(item)
                if listener is not None:
                    listener.entry_begins(shard, time, command)
                self.engine.apply(seq, time, command)
                self._head = ChainHead(item.seq, item.head)
                if listener is not None:
                    listener.entry_ends(shard, seq, command)
        except JournalError as error:
            self.failed = error
            log.error("%s: the replica stops: %s", self._stream, error)
            return
        except Exception as error:
            # a handler failed half-way through a message: applying it again would apply
            # its first entries twice, skipping it would lose the rest; either way the
            # replica would no longer be the writer's
            self.failed = error
            log.exception("%s: the replica stops: a handler failed", self._stream)
            return
        finally:
            if listener is not None:
                listener.message_applied(shard)
        self._next_message = message + 1
        self.lag = msg.metadata.num_pending
        self._wake()

    async def _resubscribe(self) -> None:
        await self._unsubscribe()
        while True:
            try:
                async with unavailable_on_failure(f"follow {self._stream}"):
                    await self._subscribe()
                break
            except JetStreamUnavailableError as error:
                log.info("%s: %s; trying again", self._stream, error)
                await asyncio.sleep(RETRY_S)
        self._resubscribing = None

    def _wake(self) -> None:
        waiters, seq = self._waiters, self._head.seq
        while waiters and waiters[0][0] <= seq:
            _, _, future = heapq.heappop(waiters)
            if not future.done():
                future.set_result(None)
