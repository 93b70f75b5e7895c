"""``/journal?shard=K`` of the cluster reader: engine shard K's journal, paged from its
JetStream stream, read-only.

Nothing here writes or configures the stream (the engine owns it): the durable head is the
stream's last message's last entry, and a page is read by an ephemeral consumer from the
message holding its anchor (the last entry of a page served before, remembered with its
message: ``http.journal_pages.Anchors``), every entry checked against the hash chain from
there. The first page far into a journal, with no anchor before it, is read and hashed
from genesis once, as the embedded node's file is.
"""

from __future__ import annotations

from functools import partial
from typing import Final

from nats.aio.client import Client

from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.journal import unpack_message
from perpdex.cluster.message_reader import API_TIMEOUT_S, MessageReader
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.cluster.transport import unavailable_on_failure, until_available
from perpdex.engine.codec import seq_of
from perpdex.engine.journal import ChainCheck, ChainHead
from perpdex.http import models
from perpdex.http.journal_pages import (
    GENESIS_ANCHOR,
    Anchor,
    Anchors,
    JournalUnreachable,
    PageBuilder,
    ending_at_a_break,
    page_of,
)

READ_BATCH: Final = 64
"""Messages per fetch."""


class StreamJournalPages:
    """Shard ``shard``'s journal pages (a :class:`~perpdex.http.journal_pages.ShardJournal`);
    a read retried while JetStream is unavailable for up to ``timeout_s``."""

    def __init__(
        self, nc: Client, layout: StreamLayout, shard: ShardId, *, timeout_s: float = 10.0
    ) -> None:
        self._js = nc.jetstream(timeout=API_TIMEOUT_S)
        self._stream = layout.journal_stream(shard)
        self._subject = layout.journal_subject(shard)
        self._timeout_s = timeout_s
        self._anchors = Anchors()

    async def page(self, first: int, limit: int) -> models.JournalPage:
        try:
            return await until_available(partial(self._read, first, limit), self._timeout_s)
        except JetStreamUnavailableError as error:
            raise JournalUnreachable(str(error)) from error

    async def _read(self, first: int, limit: int) -> models.JournalPage:
        async with unavailable_on_failure(f"read {self._stream}"):
            head = await self._head()
            built = PageBuilder(first, limit, head.head.seq)
            if not built.complete:
                anchor = self._anchors.before(self._stream, first - 1)
                await self._take(anchor, head.where, built)
        if built.last is not None:
            self._anchors.add(self._stream, built.last)
        return page_of(head.head, built)

    async def _head(self) -> Anchor:
        """The shard's durable head: the stream's last message's last entry, with that
        message (the stream holds only what JetStream acknowledged to the engine)."""
        last = (await self._js.stream_info(self._stream)).state.last_seq
        if last == 0:
            return GENESIS_ANCHOR
        stored = await self._js.get_msg(self._stream, last)
        _, entry, head = unpack_message(last, stored.data or b"")[-1]
        return Anchor(ChainHead(seq_of(entry), head), last)

    async def _take(self, anchor: Anchor, last: int, built: PageBuilder) -> None:
        """Entries into ``built``, checked from ``anchor`` on, from the message holding it
        up to message ``last`` at most."""
        check = ChainCheck(anchor.head)
        reader = MessageReader(self._js, self._stream, self._subject)
        message = max(anchor.where, 1)
        try:
            with ending_at_a_break(built):
                while message <= last:
                    for seq, payload in await reader.fetch(
                        message, min(READ_BATCH, last - message + 1)
                    ):
                        for frame in unpack_message(seq, payload):
                            entry = check(frame)
                            if entry is not None and built.take(entry):
                                return
                        message = seq + 1
                check.end()
        finally:
            await reader.close()
