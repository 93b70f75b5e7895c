"""The cluster reader's ``/journal?shard=K`` pages (``StreamJournalPages``) on a real
nats-server: pages of any size equal the journal as its writer reads it, each page after
the first is read from the message holding the previous page's last entry (not from
genesis), the head is the writer's durable one, and an entry published around the journal
is never served."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from itertools import count
from typing import ClassVar

import nats
import pytest
from tests.integration.cluster.journal_testing import ticks, write

from perpdex.cluster import journal_pages
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.journal_pages import StreamJournalPages
from perpdex.cluster.message_reader import MessageReader
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.engine.errors import ChainMismatch
from perpdex.http import models

SHARD = ShardId(1)
_prefixes = count()


@pytest.fixture
def layout() -> StreamLayout:
    return StreamLayout(shards=2, replicas=1, prefix=f"pages{next(_prefixes)}")


@pytest.fixture
def journal(nats_single: NatsCluster, layout: StreamLayout) -> Iterator[JetStreamJournal]:
    """Shard 1's journal, as its engine writes it: 9 groups of 5 entries, a message each."""
    journal = JetStreamJournal(nats_single.urls, layout, SHARD)
    for _ in range(9):
        write(journal, 5)
    yield journal
    journal.close()


class Counted(MessageReader):
    """The reader the pages use (one per page), noting where each page starts reading."""

    starts: ClassVar[list[int]] = []
    started = False

    async def fetch(self, message: int, count: int) -> list[tuple[int, bytes]]:
        if not self.started:
            self.started = True
            self.starts.append(message)
        return await super().fetch(message, count)


async def _pages(
    nats_single: NatsCluster, layout: StreamLayout, asked: list[tuple[int, int]]
) -> list[models.JournalPage]:
    nc = await nats.connect(nats_single.urls)
    try:
        pages = StreamJournalPages(nc, layout, SHARD)
        return [await pages.page(first, limit) for first, limit in asked]
    finally:
        await nc.close()


def test_pages_are_the_journal_read_from_the_previous_pages_message(
    nats_single: NatsCluster,
    layout: StreamLayout,
    journal: JetStreamJournal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(journal_pages, "MessageReader", Counted)
    Counted.starts = []
    whole = [(item.seq, "0x" + item.entry.hex(), "0x" + item.head.hex()) for item in journal.read()]
    assert len(whole) == 45
    asked = [(first, 7) for first in range(1, 46, 7)] + [(46, 7), (1, 1000)]
    served = asyncio.run(_pages(nats_single, layout, asked))

    durable = journal.durable
    for page in served:
        assert (page.head.seq, page.head.head) == (45, "0x" + durable.head.hex())
    paged = [(e.seq, e.entry, e.head) for page in served[:7] for e in page.entries]
    assert paged == whole
    assert served[7].entries == []  # past the head: nothing, and nothing read
    assert [(e.seq, e.entry, e.head) for e in served[8].entries] == whole
    # the first page from genesis; each next one from the message holding the last entry
    # served (entry 7k is in message ceil(7k / 5)); the whole journal again from genesis
    assert Counted.starts == [1, 2, 3, 5, 6, 7, 9, 1]


def test_an_entry_published_around_the_journal_is_never_served(
    nats_single: NatsCluster, layout: StreamLayout, journal: JetStreamJournal
) -> None:
    async def intrude() -> None:  # an attacker with publish rights on the subject
        client = await nats.connect(nats_single.urls)
        entry = ticks(journal.head, 1, time=9_999)[0]
        forged = len(entry).to_bytes(4, "big") + entry + bytes(32)  # a frame, a wrong head
        await client.jetstream().publish(layout.journal_subject(SHARD), forged)
        await client.close()

    served = asyncio.run(_pages(nats_single, layout, [(40, 6)]))
    assert [e.seq for e in served[0].entries] == [40, 41, 42, 43, 44, 45]
    asyncio.run(intrude())
    # the page ends before the forged entry; one from it is an error (the route's
    # ``journal_broken``), never the forged entry
    (page,) = asyncio.run(_pages(nats_single, layout, [(44, 6)]))
    assert [e.seq for e in page.entries] == [44, 45]
    with pytest.raises(ChainMismatch):
        asyncio.run(_pages(nats_single, layout, [(46, 6)]))
