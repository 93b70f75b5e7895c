"""The engine journal on a JetStream stream: one stream per shard, one writer, fenced.

Entry n of the shard's journal is message n of its stream (``StreamLayout.journal_stream``),
whose payload is the entry followed by its chain head, as a frame of the file journal. The
chain is the one of ``perpdex.engine.journal``; ``read`` checks every entry against it.

Fencing. Each publish carries

- ``Nats-Expected-Last-Sequence: n - 1``: the entry lands at position n or not at all;
- ``Nats-Msg-Id: head_n`` and, once the stream's last message is known to be this
  writer's, ``Nats-Expected-Last-Msg-Id: head_{n-1}``: the entry lands only on top of this
  writer's own previous entry. Position alone is not enough while publishes are
  pipelined: if a second engine wrote entry n, this writer's n is refused but its n + 1
  (expecting position n) would land on the other's n and break the chain.

The server forgets the last message id across a restart (it rebuilds it only inside the
de-duplication window), so after opening and after any failure the writer reconciles: it
compares the stream's tail with its unacknowledged entries (its own: acknowledged; another
writer's: :class:`JournalFencedError`, for good), then publishes the next entry alone with
the position check only, and pipelines again once that one is acknowledged.

``append`` publishes without waiting; ``flush`` waits until JetStream acknowledged every
entry (stored on a majority of the stream's replicas), retrying through a leader election
or a reconnect for up to ``flush_timeout_s``, then raises :class:`JournalUnavailableError`
with the entries still queued: the next ``flush`` tries again, nothing is dropped. The
default (15 s) rides through the loss of the stream's leader: the NATS server elects a new
one 4 to 9 s after the old one falls silent (fixed raft timeouts, not configurable).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from perpdex.cluster.errors import (
    JetStreamUnavailableError,
    JournalFencedError,
    JournalUnavailableError,
)
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_stream
from perpdex.cluster.transport import LoopThread, connect, unavailable_on_failure
from perpdex.engine.codec import seq_of
from perpdex.engine.errors import BadEntry
from perpdex.engine.hashchain import HEAD_SIZE, HashChain
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, Frame, JournalEntry, verified

_WRONG_LAST_SEQUENCE: Final = 10071  # JetStream error codes of a refused expectation
_WRONG_LAST_MSG_ID: Final = 10070
_RETRY_S: Final = 0.1
_API_TIMEOUT_S: Final = 2.0  # a stream info or message get while a leader is elected
_READ_BATCH: Final = 1024


class _Refused(Exception):
    """JetStream answered a publish with an error (``code``: its JetStream error code)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("description", "refused"))
        self.code = int(error.get("err_code", 0))
        self.status = int(error.get("code", 0))


@dataclass(frozen=True, slots=True)
class _Pending:
    seq: int
    payload: bytes  # entry || head
    head: bytes
    previous: bytes  # the head of entry seq - 1


class JetStreamJournal:
    """The journal of one engine shard (a :class:`~perpdex.engine.journal.Journal`)."""

    def __init__(
        self,
        servers: Sequence[str],
        layout: StreamLayout,
        shard: ShardId,
        *,
        flush_timeout_s: float = 15.0,
    ) -> None:
        self.layout = layout
        self.shard = shard
        self._stream = layout.journal_stream(shard)
        self._subject = layout.journal_subject(shard)
        self._flush_timeout_s = flush_timeout_s
        self._unacked: deque[_Pending] = deque()
        self._sent: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._generation = 0  # acks of an older generation of publishes are ignored
        self._chained = False  # the stream's last message is this writer's last acked one
        self._fenced: JournalFencedError | None = None
        self._closed = False
        self._loop = LoopThread(f"journal-{shard}")
        try:
            self._acked = self._head = self._loop.run(self._open(servers))
        except BaseException as error:
            self._loop.close()
            if isinstance(error, JetStreamUnavailableError):
                raise JournalUnavailableError(str(error)) from error
            raise
        self._chain = HashChain(self._head.head)

    async def _open(self, servers: Sequence[str]) -> ChainHead:
        self._nc = await connect(servers, name=f"journal-{self.shard}")
        self._js: JetStreamContext = self._nc.jetstream(timeout=_API_TIMEOUT_S)
        self._inbox = self._nc.new_inbox()
        async with unavailable_on_failure(f"open {self._stream}"):
            await self._nc.subscribe(f"{self._inbox}.>", cb=self._on_ack)
            await ensure_stream(self._js, self.layout.journal_config(self.shard))
            last = await self._last_seq()
            if last == 0:
                return GENESIS_HEAD
            entry, head = _split(last, await self._load(last))
        if seq_of(entry) != last:
            raise BadEntry(last, last, f"message {last} holds entry {seq_of(entry)}")
        return ChainHead(last, head)

    @property
    def head(self) -> ChainHead:
        return self._head

    @property
    def durable(self) -> ChainHead:
        """The last entry JetStream acknowledged."""
        return self._acked

    def append(self, entries: Sequence[bytes]) -> None:
        self._raise_if_fenced()
        if not entries:
            return
        heads = self._chain.extend(entries)
        previous = self._head.head
        new: list[_Pending] = []
        for seq, (entry, head) in enumerate(zip(entries, heads, strict=True), self._head.seq + 1):
            new.append(_Pending(seq, entry + head, head, previous))
            previous = head
        self._unacked.extend(new)
        self._head = ChainHead(new[-1].seq, heads[-1])
        if self._chained:
            try:
                self._loop.run(self._send(new))
            except JetStreamUnavailableError:
                self._chained = False  # kept in _unacked: flush publishes them again

    def flush(self) -> None:
        self._raise_if_fenced()
        if not self._unacked:
            return
        try:
            self._loop.run(self._flush())
        except JetStreamUnavailableError as error:
            raise JournalUnavailableError(str(error)) from error
        except JournalFencedError as error:
            self._fenced = error
            raise

    def read(self, after: ChainHead = GENESIS_HEAD) -> Iterator[JournalEntry]:
        return verified(self._frames(after), after)

    def close(self) -> None:
        """Flush (unless fenced) and disconnect; a second close does nothing."""
        if self._closed:
            return
        try:
            if self._fenced is None:
                self.flush()
        finally:
            self._closed = True
            self._loop.run(self._nc.close())
            self._loop.close()

    def _raise_if_fenced(self) -> None:
        if self._fenced is not None:
            raise self._fenced

    # --- on the loop thread ---

    async def _on_ack(self, msg: Msg) -> None:
        generation, seq = msg.subject.rsplit(".", 2)[1:]
        future = self._sent.get(int(seq))
        if int(generation) != self._generation or future is None or future.done():
            return
        if not msg.data:  # a status message: no stream answered (503 no responders)
            future.set_exception(JetStreamUnavailableError(f"no responders for {self._stream}"))
            return
        response = json.loads(msg.data)
        if "error" in response:
            future.set_exception(_Refused(response["error"]))
        else:
            future.set_result(response)

    async def _send(self, pending: Sequence[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        for item in pending:
            headers = {
                "Nats-Expected-Stream": self._stream,
                "Nats-Msg-Id": item.head.hex(),
                "Nats-Expected-Last-Sequence": str(item.seq - 1),
            }
            if self._chained and item.seq > 1:
                headers["Nats-Expected-Last-Msg-Id"] = item.previous.hex()
            self._sent[item.seq] = loop.create_future()
            reply = f"{self._inbox}.{self._generation}.{item.seq}"
            async with unavailable_on_failure(f"publish to {self._subject}"):
                await self._nc.publish(self._subject, item.payload, reply=reply, headers=headers)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._flush_timeout_s
        failure: JetStreamUnavailableError | None = None
        while self._unacked:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise failure or JetStreamUnavailableError(f"{self._stream}: no ack in time")
            try:
                if not self._chained:
                    await self._reconcile()
                    if not self._unacked:
                        return
                    await self._send([self._unacked[0]])  # position-checked only
                else:
                    unsent = [item for item in self._unacked if item.seq not in self._sent]
                    await self._send(unsent)
                await self._settle(remaining)
            except JetStreamUnavailableError as error:
                failure = error
                self._chained = False
                await asyncio.sleep(min(_RETRY_S, max(0.0, deadline - loop.time())))

    async def _settle(self, timeout: float) -> None:
        """Take the acks in order; stops at the first refusal (the loop reconciles)."""
        waiting = [self._sent[item.seq] for item in self._unacked if item.seq in self._sent]
        await asyncio.wait(waiting, timeout=timeout)
        while self._unacked and (future := self._sent.get(self._unacked[0].seq)) is not None:
            item = self._unacked[0]
            if not future.done():
                raise JetStreamUnavailableError(f"{self._stream}: no ack for entry {item.seq}")
            error = future.exception()
            if isinstance(error, _Refused) and error.code in (
                _WRONG_LAST_SEQUENCE,
                _WRONG_LAST_MSG_ID,
            ):
                self._restart_publishing()  # another writer's entry, or ours with a lost ack
                return
            if error is not None:
                raise JetStreamUnavailableError(f"{self._stream}: entry {item.seq}: {error}")
            ack = future.result()
            if ack.get("stream") != self._stream or ack.get("seq") != item.seq:
                raise JournalFencedError(self.shard, item.seq, f"acknowledged as {ack}")
            self._acknowledged()
            self._chained = True

    async def _reconcile(self) -> None:
        """Match the stream's tail with the unacknowledged entries; raises if not ours."""
        self._restart_publishing()
        async with unavailable_on_failure(f"reconcile {self._stream}"):
            last = await self._last_seq()
            if last < self._acked.seq:
                detail = f"the stream ends at {last}, before acknowledged entry {self._acked.seq}"
                raise JournalFencedError(self.shard, last + 1, detail)
            for seq in range(self._acked.seq + 1, last + 1):
                if not self._unacked:
                    raise JournalFencedError(self.shard, seq, "another writer appended")
                if await self._load(seq) != self._unacked[0].payload:
                    raise JournalFencedError(self.shard, seq, "another writer's entry is there")
                self._acknowledged()

    def _acknowledged(self) -> None:
        item = self._unacked.popleft()
        self._sent.pop(item.seq, None)
        self._acked = ChainHead(item.seq, item.head)

    def _restart_publishing(self) -> None:
        self._chained = False
        self._generation += 1
        for future in self._sent.values():
            if future.done():
                future.exception()  # seen: a refusal of an abandoned publish is no news
            else:
                future.cancel()
        self._sent.clear()

    async def _last_seq(self) -> int:
        info = await self._js.stream_info(self._stream)
        return info.state.last_seq

    async def _load(self, seq: int) -> bytes:
        # from the stream leader: a direct get may be answered by a replica that lags
        return (await self._js.get_msg(self._stream, seq)).data or b""

    # --- reading ---

    def _frames(self, after: ChainHead) -> Iterator[Frame]:
        """The stream's messages from ``after.seq`` (or 1) to its last one now."""
        last = self._read(self._last_seq())
        seq = max(after.seq, 1)
        if seq > last:
            return
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=seq,
            ack_policy=AckPolicy.NONE,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=30.0,
        )
        subscription = self._read(
            self._js.pull_subscribe(self._subject, stream=self._stream, config=config)
        )
        try:
            while seq <= last:
                batch = min(_READ_BATCH, last - seq + 1)
                for msg in self._read(subscription.fetch(batch, timeout=self._flush_timeout_s)):
                    seq = msg.metadata.sequence.stream
                    entry, head = _split(seq, msg.data)
                    yield seq, entry, head
                    seq += 1
        finally:
            self._read(subscription.unsubscribe())

    def _read(self, coroutine: Any) -> Any:
        async def guarded() -> Any:
            async with unavailable_on_failure(f"read {self._stream}"):
                return await coroutine

        try:
            return self._loop.run(guarded())
        except JetStreamUnavailableError as error:
            raise JournalUnavailableError(str(error)) from error


def _split(seq: int, payload: bytes) -> tuple[bytes, bytes]:
    """A message's entry and stored head."""
    if len(payload) <= HEAD_SIZE:
        raise BadEntry(seq, seq, f"malformed message ({len(payload)} bytes)")
    return payload[:-HEAD_SIZE], payload[-HEAD_SIZE:]
