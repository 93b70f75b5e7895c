"""The engine's events on ``<PREFIX>_EVT_<shard>``: one message per journal group, fenced.

A message holds the events (``perpdex.cluster.event_codec``) of journal entries
``Perpdex-Seq-First`` to ``Perpdex-Seq-Last`` (every entry of the range, those without
events too, so the stream's tail says how far the journal's events are out) under
``Nats-Msg-Id`` ``evt-<shard>-<last>``. A group whose events exceed ``max_bytes`` is split
between entries; one entry's events that alone exceed it go as parts, each with
``Perpdex-Part`` ``i/n`` (``first == last``), the parts before the last with the message id
``evt-<shard>-<last>-<i>``. Readers join parts in order.

Fencing: each publish expects the stream's last sequence to be the previous message's.
Refused, the writer reads the tail: a message covering this one already (its own with a
lost ack, or a newer engine's republish of the same journal entries: the same events, by
determinism) is taken as published; anything else is another writer's and
:class:`EventsFencedError` stops this one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg

from perpdex.cluster.event_codec import encode_body
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_stream
from perpdex.cluster.transport import unavailable_on_failure

log = logging.getLogger(__name__)

SEQ_FIRST: Final = "Perpdex-Seq-First"
SEQ_LAST: Final = "Perpdex-Seq-Last"
PART: Final = "Perpdex-Part"
MAX_MESSAGE_BYTES: Final = 512 * 1024  # the server refuses payloads over 1 MiB by default
_WRONG_LAST_SEQUENCE: Final = 10071
_WHOLE: Final = 1 << 62  # the part index of a complete entry, for ordering


class EventsFencedError(Exception):
    """Another writer published to this shard's event stream: this engine must stop."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    first: int
    last: int
    body: bytes
    part: tuple[int, int] | None = None  # (i, n): part i of n of entry ``last``'s events

    @property
    def position(self) -> tuple[int, int]:
        """Where this message ends: (entry, part), a whole entry after all of its parts."""
        if self.part is None or self.part[0] == self.part[1]:
            return self.last, _WHOLE
        return self.last, self.part[0]


@dataclass(frozen=True, slots=True)
class EventCursor:
    """The stream's end: entries up to ``seq`` are out whole, and the first ``parts`` parts
    of entry ``seq + 1``."""

    seq: int
    parts: int = 0


def messages(
    entries: Sequence[tuple[int, Sequence[bytes]]], max_bytes: int = MAX_MESSAGE_BYTES
) -> Iterator[EventMessage]:
    """The messages of consecutive entries ``(seq, encoded events)``; the split depends on
    an entry's own events only where it is cut in parts, so a republish cuts alike."""
    batch: list[bytes] = []
    first: int | None = None  # the first entry of the message being filled
    last = size = 0
    for seq, events in entries:
        own = sum(map(len, events))
        if first is not None and size + own > max_bytes:
            yield EventMessage(first, last, encode_body(batch))
            first, batch, size = None, [], 0
        if own > max_bytes:
            chunks = list(_chunks(events, max_bytes))
            for index, chunk in enumerate(chunks, 1):
                yield EventMessage(seq, seq, encode_body(chunk), (index, len(chunks)))
            continue
        if first is None:
            first = seq
        batch += events
        size += own
        last = seq
    if first is not None:
        yield EventMessage(first, last, encode_body(batch))


def _chunks(events: Sequence[bytes], max_bytes: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    size = 0
    for event in events:
        if chunk and size + len(event) > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(event)
        size += len(event)
    yield chunk


class EventPublisher:
    """The one writer of ``shard``'s event stream (on the caller's event loop)."""

    def __init__(self, js: JetStreamContext, layout: StreamLayout, shard: ShardId) -> None:
        self._js = js
        self._layout = layout
        self._shard = shard
        self._stream = layout.event_stream(shard)
        self._subject = layout.event_groups_subject(shard)
        self._last = 0  # the stream sequence of the last message (this writer's)

    async def open(self) -> EventCursor:
        """Create the stream if need be; where its messages end."""
        async with unavailable_on_failure(f"open {self._stream}"):
            await ensure_stream(self._js, self._layout.event_config(self._shard))
            tail = await self._tail()
        if tail is None:
            return EventCursor(0)
        self._last = tail.seq or 0
        entry, part = _position(tail)
        return EventCursor(entry) if part == _WHOLE else EventCursor(entry - 1, part)

    async def publish(self, message: EventMessage, timeout_s: float = 2.0) -> None:
        """Publish ``message`` after this writer's last one; ``JetStreamUnavailableError``
        if JetStream does not answer (retry it: a stored one is then recognised)."""
        headers = {
            "Nats-Expected-Stream": self._stream,
            "Nats-Expected-Last-Sequence": str(self._last),
            "Nats-Msg-Id": _message_id(self._shard, message),
            SEQ_FIRST: str(message.first),
            SEQ_LAST: str(message.last),
        }
        if message.part is not None:
            headers[PART] = f"{message.part[0]}/{message.part[1]}"
        async with unavailable_on_failure(f"publish to {self._stream}"):
            try:
                ack = await self._js.publish(
                    self._subject, message.body, timeout=timeout_s, headers=headers
                )
            except nats.js.errors.APIError as error:
                if error.err_code != _WRONG_LAST_SEQUENCE:
                    raise
                await self._already_there(message)
                return
        self._last = max(self._last, ack.seq)

    async def _already_there(self, message: EventMessage) -> None:
        tail = await self._tail()
        if tail is None or _position(tail) < message.position:
            raise EventsFencedError(
                f"{self._stream}: another writer's message at {tail and tail.seq}, "
                f"expected {self._last}"
            )
        log.info("%s: entries to %d were out already", self._stream, message.last)
        self._last = tail.seq or 0

    async def _tail(self) -> RawStreamMsg | None:
        info = await self._js.stream_info(self._stream)
        last = info.state.last_seq
        if last == 0:
            return None
        return await self._js.get_msg(self._stream, last)


def _position(message: RawStreamMsg) -> tuple[int, int]:
    headers = message.headers or {}
    last = int(headers[SEQ_LAST])
    part = headers.get(PART)
    if part is None:
        return last, _WHOLE
    index, count = map(int, part.split("/"))
    return (last, _WHOLE) if index == count else (last, index)


def _message_id(shard: ShardId, message: EventMessage) -> str:
    entry, part = message.position
    return f"evt-{shard}-{entry}" if part == _WHOLE else f"evt-{shard}-{entry}-{part}"
