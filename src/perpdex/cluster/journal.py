"""The engine journal on a JetStream stream: one stream per shard, one writer, fenced.

Each ``append`` is one message (or a few, for a group over ``_MAX_MESSAGE_BYTES``) whose
payload is the file journal's frames, ``length u32 | entry | head`` per entry: JetStream's
cost is per message, so a group commit costs one publish and one ack. The chain is the one
of ``perpdex.engine.journal``; ``read`` checks every entry against it, and finds the message
holding an entry by bisection over the stream (a message's first entry names its number).

Fencing. Each publish carries

- ``Nats-Expected-Last-Sequence``: the stream sequence of this writer's previous message,
  so the message lands right after it or not at all;
- ``Nats-Msg-Id``: the message's last chain head and, once the stream's last message is
  known to be this writer's, ``Nats-Expected-Last-Msg-Id``: the previous message's last
  head, so it lands only on top of this writer's own message. Position alone is not enough
  while publishes are pipelined: if a second engine wrote message k, this writer's k is
  refused but its k + 1 (expecting position k) would land on the other's and break the
  chain.

The server forgets the last message id across a restart (it rebuilds it only inside the
de-duplication window), so after opening and after any failure the writer reconciles: it
compares the stream's tail with its unacknowledged messages (its own: acknowledged; another
writer's: :class:`JournalFencedError`, for good), then publishes the next message alone
with the position check only, and pipelines again once that one is acknowledged.

Each message may also carry ``Perpdex-Cmd-Seq``: the highest command-stream sequence its
entries cover (``append``'s ``command_seqs``), read back at opening as ``command_seq``: the
engine shard process resumes its command stream right after it (exactly once).

``append`` publishes without waiting; ``flush`` waits until JetStream acknowledged every
message (stored on a majority of the stream's replicas), retrying through a leader election
or a reconnect for up to ``flush_timeout_s``, then raises :class:`JournalUnavailableError`
with the entries still queued: the next ``flush`` tries again, nothing is dropped. The
default (15 s) rides through the loss of the stream's leader: the NATS server elects a new
one 4 to 9 s after the old one falls silent (fixed raft timeouts, not configurable).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from struct import Struct
from typing import Any, Final, TypeVar

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from perpdex.cluster.errors import (
    JetStreamUnavailableError,
    JournalFencedError,
    JournalUnavailableError,
)
from perpdex.cluster.message_reader import MessageReader
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_stream
from perpdex.cluster.transport import UNAVAILABLE, connect, unavailable_on_failure
from perpdex.engine.codec import seq_of
from perpdex.engine.errors import BadEntry
from perpdex.engine.hashchain import HEAD_SIZE, HashChain
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, Frame, JournalEntry, verified
from perpdex.loop_thread import LoopThread

T = TypeVar("T")

_WRONG_LAST_SEQUENCE: Final = 10071  # JetStream error codes of a refused expectation
_WRONG_LAST_MSG_ID: Final = 10070
_RETRY_S: Final = 0.1
_API_TIMEOUT_S: Final = 2.0  # a stream info or message get while a leader is elected
# An ack not back by then is given up and the tail reconciled: a publish that reached a
# replica while the stream had no leader is dropped unanswered.
_ACK_TIMEOUT_S: Final = 2.0
_READ_BATCH: Final = 64  # messages per fetch while reading
_MAX_MESSAGE_BYTES: Final = 512 * 1024  # the server refuses payloads over 1 MiB by default
_LENGTH: Final = Struct(">I")  # the file journal's frame: length u32 | entry | head
_FIRST_SEQ: Final = Struct(">Q")  # an entry starts with its sequence number (codec.HEADER)
COMMAND_SEQ: Final = "Perpdex-Cmd-Seq"  # header: the highest command-stream sequence covered


class _Refused(Exception):
    """JetStream answered a publish with an error (``code``: its JetStream error code)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("description", "refused"))
        self.code = int(error.get("err_code", 0))


@dataclass(frozen=True, slots=True)
class _Message:
    """One publish: entries up to ``last``, after the chain head ``previous``; ``command_seq``
    the highest command-stream sequence they cover (None: not told)."""

    payload: bytes
    last: ChainHead
    previous: bytes
    command_seq: int | None


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
        self._unacked: deque[_Message] = deque()
        self._acked_message = 0  # the stream sequence of the last acknowledged message
        self._sent: dict[int, asyncio.Future[dict[str, Any]]] = {}  # by stream sequence
        self._generation = 0  # acks of an older generation of publishes are ignored
        self._chained = False  # the stream's last message is this writer's last acked one
        self._fenced: JournalFencedError | None = None
        self._closed = False
        self._loop = LoopThread(f"journal-{shard}")
        try:
            self._loop.run(self._connect(servers))
            self._head, self._command_seq = self._retrying(self._open_stream)
            self._acked = self._head
        except BaseException as error:
            self._loop.close()
            if isinstance(error, JetStreamUnavailableError):
                raise JournalUnavailableError(str(error)) from error
            raise
        self._chain = HashChain(self._head.head)

    async def _connect(self, servers: Sequence[str]) -> None:
        self._nc = await connect(servers, name=f"journal-{self.shard}")
        self._js: JetStreamContext = self._nc.jetstream(timeout=_API_TIMEOUT_S)
        self._inbox = self._nc.new_inbox()
        async with unavailable_on_failure(f"subscribe to {self._inbox}"):
            await self._nc.subscribe(f"{self._inbox}.>", cb=self._on_ack)

    async def _open_stream(self) -> tuple[ChainHead, int]:
        await ensure_stream(self._js, self.layout.journal_config(self.shard))
        last = self._acked_message = await self._last_message()
        if last == 0:
            return GENESIS_HEAD, 0
        message = await self._js.get_msg(self._stream, last)
        *_, (_, entry, head) = unpack_message(last, message.data or b"")
        return ChainHead(seq_of(entry), head), int((message.headers or {}).get(COMMAND_SEQ, 0))

    @property
    def head(self) -> ChainHead:
        return self._head

    @property
    def durable(self) -> ChainHead:
        """The last entry JetStream acknowledged."""
        return self._acked

    @property
    def command_seq(self) -> int:
        """The highest command-stream sequence the appended entries cover: as of the last
        message at opening (its ``Perpdex-Cmd-Seq``, 0 without one), then as ``append`` is
        told."""
        return self._command_seq

    def append(self, entries: Sequence[bytes], command_seqs: Sequence[int] = ()) -> list[bytes]:
        """``command_seqs``, if given, one per entry: the highest command-stream sequence
        each covers; every message carries its last entry's as ``Perpdex-Cmd-Seq``, so a
        restarted engine resumes the command stream right after its journal's end."""
        self._raise_if_fenced()
        if not entries:
            return []
        if command_seqs and len(command_seqs) != len(entries):
            raise ValueError("one command sequence per entry")
        heads = self._chain.extend(entries)
        new = list(self._messages(entries, heads, command_seqs))
        if command_seqs:
            self._command_seq = command_seqs[-1]
        self._unacked.extend(new)
        self._head = new[-1].last
        if self._chained:
            try:
                self._loop.run(self._send(len(self._unacked) - len(new)))
            except JetStreamUnavailableError:
                self._chained = False  # kept in _unacked: flush publishes them again
        return heads

    def _messages(
        self, entries: Sequence[bytes], heads: list[bytes], command_seqs: Sequence[int]
    ) -> Iterator[_Message]:
        previous, seq = self._head.head, self._head.seq
        frames: list[bytes] = []
        size = 0
        for index, (entry, head) in enumerate(zip(entries, heads, strict=True)):
            frames += (_LENGTH.pack(len(entry)), entry, head)
            size += _LENGTH.size + len(entry) + HEAD_SIZE
            seq += 1
            if size >= _MAX_MESSAGE_BYTES or index == len(entries) - 1:
                command_seq = command_seqs[index] if command_seqs else None
                yield _Message(b"".join(frames), ChainHead(seq, head), previous, command_seq)
                previous, frames, size = head, [], 0

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
            self._loop.run(self._disconnect())
            self._loop.close()

    async def _disconnect(self) -> None:
        # nats-py's close writes what is still buffered first, and fails on a lost
        # connection: nothing in that buffer was acknowledged, so nothing is lost with it
        with suppress(*UNAVAILABLE):
            await self._nc.close()

    def _raise_if_fenced(self) -> None:
        if self._fenced is not None:
            raise self._fenced

    # --- on the loop thread ---

    async def _on_ack(self, msg: Msg) -> None:
        generation, message = msg.subject.rsplit(".", 2)[1:]
        future = self._sent.get(int(message))
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

    async def _send(self, start: int, stop: int | None = None) -> None:
        """Publish the unacknowledged messages ``start`` to ``stop`` (by index)."""
        loop = asyncio.get_running_loop()
        for index in range(start, len(self._unacked) if stop is None else stop):
            message = self._unacked[index]
            position = self._acked_message + index + 1  # its stream sequence, if it lands
            headers = {
                "Nats-Expected-Stream": self._stream,
                "Nats-Msg-Id": message.last.head.hex(),
                "Nats-Expected-Last-Sequence": str(position - 1),
            }
            if self._chained and position > 1:
                headers["Nats-Expected-Last-Msg-Id"] = message.previous.hex()
            if message.command_seq is not None:
                headers[COMMAND_SEQ] = str(message.command_seq)
            self._sent[position] = loop.create_future()
            reply = f"{self._inbox}.{self._generation}.{position}"
            async with unavailable_on_failure(f"publish to {self._subject}"):
                await self._nc.publish(self._subject, message.payload, reply=reply, headers=headers)

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
                    await self._send(0, 1)  # position-checked only
                else:
                    await self._send(len(self._sent))  # those not yet sent
                await self._settle(min(remaining, _ACK_TIMEOUT_S))
            except JetStreamUnavailableError as error:
                failure = error
                self._restart_publishing()
                await asyncio.sleep(min(_RETRY_S, max(0.0, deadline - loop.time())))

    async def _settle(self, timeout: float) -> None:
        """Take the acks in order; stops at the first refusal (the loop reconciles)."""
        await asyncio.wait(list(self._sent.values()), timeout=timeout)
        while self._unacked and (future := self._sent.get(self._acked_message + 1)) is not None:
            if not future.done():
                raise JetStreamUnavailableError(f"{self._stream}: no ack in time")
            error = future.exception()
            if isinstance(error, _Refused) and error.code in (
                _WRONG_LAST_SEQUENCE,
                _WRONG_LAST_MSG_ID,
            ):
                self._restart_publishing()  # another writer's message, or ours with a lost ack
                return
            if error is not None:
                raise JetStreamUnavailableError(f"{self._stream}: {error}")
            ack = future.result()
            if ack.get("stream") != self._stream or ack.get("seq") != self._acked_message + 1:
                raise JournalFencedError(self.shard, self._acked.seq + 1, f"acked as {ack}")
            self._acknowledged()
            self._chained = True

    async def _reconcile(self) -> None:
        """Match the stream's tail with the unacknowledged messages; raises if not ours."""
        self._restart_publishing()
        async with unavailable_on_failure(f"reconcile {self._stream}"):
            last = await self._last_message()
            if last < self._acked_message:
                detail = f"the stream lost acknowledged message {self._acked_message}"
                raise JournalFencedError(self.shard, self._acked.seq, detail)
            for _ in range(self._acked_message + 1, last + 1):
                if not self._unacked:
                    detail = "another writer appended after this writer's last entry"
                    raise JournalFencedError(self.shard, self._acked.seq + 1, detail)
                if await self._load(self._acked_message + 1) != self._unacked[0].payload:
                    detail = "another writer's entries are in this writer's place"
                    raise JournalFencedError(self.shard, self._acked.seq + 1, detail)
                self._acknowledged()

    def _acknowledged(self) -> None:
        message = self._unacked.popleft()
        self._acked_message += 1
        self._sent.pop(self._acked_message, None)
        self._acked = message.last

    def _restart_publishing(self) -> None:
        self._chained = False
        self._generation += 1
        for future in self._sent.values():
            if future.done():
                future.exception()  # seen: a refusal of an abandoned publish is no news
            else:
                future.cancel()
        self._sent.clear()

    async def _last_message(self) -> int:
        info = await self._js.stream_info(self._stream)
        return info.state.last_seq

    async def _load(self, message: int) -> bytes:
        # from the stream leader: a direct get may be answered by a replica that lags
        return (await self._js.get_msg(self._stream, message)).data or b""

    # --- reading ---

    def _frames(self, after: ChainHead) -> Iterator[Frame]:
        """The frames of the stream's messages now, from the one holding entry ``after.seq``."""
        last = self._retrying(self._last_message)
        if last == 0:
            return
        message = self._retrying(partial(self._message_holding, max(after.seq, 1), last))
        reader = MessageReader(self._js, self._stream, self._subject)
        try:
            while message <= last:
                count = min(_READ_BATCH, last - message + 1)
                for seq, payload in self._retrying(partial(reader.fetch, message, count)):
                    yield from unpack_message(seq, payload)
                    message = seq + 1
        finally:
            self._loop.run(reader.close())

    async def _message_holding(self, seq: int, last: int) -> int:
        """The last message whose first entry is at most ``seq`` (bisection)."""
        low, high = 1, last
        while low < high:
            middle = (low + high + 1) // 2
            payload = await self._load(middle)
            if _FIRST_SEQ.unpack_from(payload, _LENGTH.size)[0] <= seq:
                low = middle
            else:
                high = middle - 1
        return low

    def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()`` on the loop, again while JetStream is unavailable (a leader is
        elected, a node restarts), for up to ``flush_timeout_s``."""

        async def retried() -> T:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._flush_timeout_s
            while True:
                try:
                    async with unavailable_on_failure(self._stream):
                        return await attempt()
                except JetStreamUnavailableError:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(_RETRY_S)

        try:
            return self._loop.run(retried())
        except JetStreamUnavailableError as error:
            raise JournalUnavailableError(str(error)) from error


def unpack_message(message: int, payload: bytes) -> list[Frame]:
    """A message's frames; ``where`` is the message's stream sequence."""
    frames: list[Frame] = []
    offset = 0
    while offset < len(payload):
        if offset + _LENGTH.size > len(payload):
            raise BadEntry(message, message, "a frame cut short inside a message")
        (length,) = _LENGTH.unpack_from(payload, offset)
        offset += _LENGTH.size
        end = offset + length + HEAD_SIZE
        if end > len(payload) or length < _FIRST_SEQ.size:
            raise BadEntry(message, message, "a malformed frame inside a message")
        frames.append((message, payload[offset : offset + length], payload[offset + length : end]))
        offset = end
    if not frames:
        raise BadEntry(message, message, "an empty message")
    return frames
