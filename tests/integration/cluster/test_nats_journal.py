"""The engine journal on a JetStream stream: the same chain as the file, replayable,
verifiable, and one writer per shard (a stale engine is fenced)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path

import nats
import pytest
from tests.integration.cluster.journal_testing import ticks, write
from tests.unit.engine.engine_workloads import MARKETS, Run, mixed_commands

from perpdex.cluster.errors import JournalFencedError
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.engine import (
    ChainHead,
    EventBus,
    FileJournal,
    recover,
    snapshot_bytes,
    verify_journal,
    write_snapshot,
)
from perpdex.engine.errors import ChainMismatch, JournalError
from perpdex.engine.events import Event
from perpdex.engine.verify import verify_store

COMMANDS = mixed_commands(seed=7, count=1_200)
_prefixes = count()


@pytest.fixture
def layout() -> StreamLayout:
    """A layout of the test's own on the shared server (streams are never deleted)."""
    return StreamLayout(shards=2, replicas=1, prefix=f"t{next(_prefixes)}")


@pytest.fixture
def journal(nats_single: NatsCluster, layout: StreamLayout) -> Iterator[JetStreamJournal]:
    opened = JetStreamJournal(nats_single.urls, layout, ShardId(1))
    yield opened
    opened.close()


@pytest.fixture
def reopen(
    nats_single: NatsCluster, layout: StreamLayout
) -> Iterator[Callable[[], JetStreamJournal]]:
    """Another writer of the test's shard; closed at teardown, even a fenced one or after a
    failure (a journal left open keeps its loop thread reconnecting into later tests)."""
    opened: list[JetStreamJournal] = []

    def open_again() -> JetStreamJournal:
        opened.append(JetStreamJournal(nats_single.urls, layout, ShardId(1)))
        return opened[-1]

    yield open_again
    for writer in opened:
        writer.close()


def test_the_stream_holds_the_file_journals_chain_and_replays_the_same_engine(
    tmp_path: Path,
    nats_single: NatsCluster,
    layout: StreamLayout,
    journal: JetStreamJournal,
    reopen: Callable[[], JetStreamJournal],
) -> None:
    on_file = Run(journal=FileJournal(tmp_path / "journal.bin")).feed(COMMANDS)
    on_stream = Run(journal=journal).feed(COMMANDS)
    assert on_stream.events == on_file.events
    assert journal.durable == journal.head == verify_journal(tmp_path / "journal.bin")

    reader = reopen()
    assert reader.head == journal.head
    assert verify_store(reader) == journal.head
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    engine, head = recover(reader, MARKETS, bus)
    assert head == journal.head
    assert events == on_file.events
    assert snapshot_bytes(engine, ChainHead(head.seq, b"")) == on_file.state()
    reader.close()


def test_a_snapshot_plus_the_later_entries_of_the_stream_is_the_whole_replay(
    tmp_path: Path,
    nats_single: NatsCluster,
    layout: StreamLayout,
    journal: JetStreamJournal,
    reopen: Callable[[], JetStreamJournal],
) -> None:
    run = Run(journal=journal).feed(COMMANDS[:700])
    write_snapshot(tmp_path / "snap", run.engine, journal.head)
    run.feed(COMMANDS[700:])
    reader = reopen()
    engine, head = recover(reader, MARKETS, snapshot=tmp_path / "snap")
    reader.close()
    assert head == journal.head
    assert snapshot_bytes(engine, ChainHead(head.seq, b"")) == run.state()


def test_reading_after_a_head_finds_its_message_and_checks_that_head(
    journal: JetStreamJournal,
) -> None:
    for _ in range(4):
        write(journal, 10)  # a message per group: entries 1-10, 11-20, 21-30, 31-40
    heads = {entry.seq: entry.head for entry in journal.read()}
    for after in (0, 1, 10, 15, 20, 39, 40):
        entries = journal.read(ChainHead(after, heads.get(after, bytes(32))))
        assert [entry.seq for entry in entries] == list(range(after + 1, 41))
    with pytest.raises(ChainMismatch):
        list(journal.read(ChainHead(15, bytes(32))))
    with pytest.raises(JournalError):
        list(journal.read(ChainHead(41, bytes(32))))


def test_a_group_too_large_for_one_message_is_split_and_read_back_whole(
    nats_single: NatsCluster,
    layout: StreamLayout,
    journal: JetStreamJournal,
    reopen: Callable[[], JetStreamJournal],
) -> None:
    big = [entry + bytes(400) for entry in ticks(journal.head, 5_000)]  # ~2.2 MB of frames
    journal.append(big)
    journal.flush()
    assert [entry.entry for entry in journal.read()] == big
    reader = reopen()
    assert reader.head == journal.head
    middle = next(entry for entry in reader.read() if entry.seq == 2_500)
    assert next(iter(reader.read(ChainHead(2_500, middle.head)))).seq == 2_501
    reader.close()


def test_a_reopened_writer_continues_the_chain(
    nats_single: NatsCluster,
    layout: StreamLayout,
    journal: JetStreamJournal,
    reopen: Callable[[], JetStreamJournal],
) -> None:
    write(journal, 20)
    journal.close()
    again = reopen()
    assert again.head == journal.head
    write(again, 5)
    assert verify_store(again) == again.head
    assert again.head.seq == 25
    again.close()


def test_a_stale_writer_is_fenced_and_cannot_write_after_its_replacement(
    nats_single: NatsCluster,
    layout: StreamLayout,
    journal: JetStreamJournal,
    reopen: Callable[[], JetStreamJournal],
) -> None:
    stale = journal
    write(stale, 5)  # the stale writer is pipelining (its last ack is the stream's last)
    replacement = reopen()
    write(replacement, 1, time=2_000)

    # Its entries 6 and 7 go out in two messages, pipelined: 6 is refused (the
    # replacement's 6 is there), and 7, expecting position 6, must not land on it.
    stale.append(ticks(stale.head, 1))
    stale.append(ticks(stale.head, 1))
    with pytest.raises(JournalFencedError) as fenced:
        stale.flush()
    assert fenced.value.seq == 6
    with pytest.raises(JournalFencedError):
        stale.append(ticks(stale.head, 1))
    with pytest.raises(JournalFencedError):
        stale.flush()

    write(replacement, 3, time=2_000)
    assert verify_store(replacement) == replacement.head
    assert replacement.head.seq == 9
    replacement.close()


def test_a_writer_opened_on_an_old_head_is_fenced_at_once(
    nats_single: NatsCluster,
    layout: StreamLayout,
    journal: JetStreamJournal,
    reopen: Callable[[], JetStreamJournal],
) -> None:
    write(journal, 3)
    late = reopen()  # opened at entry 3, not yet written
    write(journal, 2)
    late.append(ticks(late.head, 1, time=2_000))
    with pytest.raises(JournalFencedError) as fenced:
        late.flush()
    assert fenced.value.seq == 4
    assert verify_store(journal) == journal.head


def test_a_message_published_around_the_journal_breaks_the_read_and_fences_the_writer(
    nats_single: NatsCluster, layout: StreamLayout, journal: JetStreamJournal
) -> None:
    write(journal, 4)

    async def intrude() -> None:  # an attacker with publish rights on the subject
        client = await nats.connect(nats_single.urls)
        entry = ticks(journal.head, 1, time=9_999)[0]
        forged = len(entry).to_bytes(4, "big") + entry + bytes(32)  # a frame, a wrong head
        await client.jetstream().publish(layout.journal_subject(ShardId(1)), forged)
        await client.close()

    asyncio.run(intrude())
    with pytest.raises(ChainMismatch):
        verify_store(journal)
    journal.append(ticks(journal.head, 1))
    with pytest.raises(JournalFencedError):
        journal.flush()
