"""The journal on a three-node JetStream cluster: one NATS node SIGKILLed (the stream's
leader) costs nothing acknowledged; all of them down is a typed error, and the queued
entries land once, in order, when they return."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from tests.integration.cluster.journal_testing import ticks, write

from perpdex.cluster.errors import JournalUnavailableError
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.nats_server import NatsCluster, NatsConfig
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.engine.journal import Journal
from perpdex.engine.verify import verify_store

LAYOUT = StreamLayout(shards=1, replicas=3)
LAYOUT_R1 = StreamLayout(shards=1, replicas=1)
SHARD = ShardId(0)


def stream_placement(cluster: NatsCluster) -> tuple[str, list[str], int]:
    """The journal stream's leader, its other replicas, and its configured replica count."""

    async def ask() -> tuple[str, list[str], int]:
        client = await nats.connect(cluster.urls)
        info = await client.jetstream().stream_info(LAYOUT.journal_stream(SHARD))
        await client.close()
        assert info.cluster is not None
        followers = [peer.name or "" for peer in info.cluster.replicas or []]
        return info.cluster.leader or "", followers, info.config.num_replicas or 0

    return asyncio.run(ask())


def flush_until_durable(journal: Journal, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            journal.flush()
            return
        except JournalUnavailableError:
            if time.monotonic() > deadline:
                raise


def test_the_journal_stays_writable_and_readable_when_its_leader_node_is_killed(
    nats_three: NatsCluster,
) -> None:
    journal = JetStreamJournal(nats_three.urls, LAYOUT, SHARD)
    write(journal, 200)
    leader, followers, replicas = stream_placement(nats_three)
    assert replicas == 3 and len(followers) == 2

    killed = int(leader.removeprefix("n")) - 1
    nats_three.kill(killed)
    write(journal, 200)  # through the election of a new stream leader
    assert journal.durable.seq == 400
    assert verify_store(journal) == journal.head
    new_leader, _, _ = stream_placement(nats_three)
    assert new_leader != leader

    nats_three.restart(killed)
    write(journal, 100)
    reader = JetStreamJournal([nats_three.url(killed)], LAYOUT, SHARD)
    assert verify_store(reader) == journal.head
    assert journal.head.seq == 500
    reader.close()
    journal.close()


def test_closing_during_an_outage_says_what_was_not_durable() -> None:
    with NatsCluster(NatsConfig(nodes=1)) as server:
        journal = JetStreamJournal(server.urls, LAYOUT_R1, SHARD, flush_timeout_s=1.0)
        write(journal, 3)
        server.kill(0)
        journal.append(ticks(journal.head, 2))
        with pytest.raises(JournalUnavailableError):
            journal.close()
        server.restart(0)
        reopened = JetStreamJournal(server.urls, LAYOUT_R1, SHARD)
        assert reopened.head == journal.durable
        assert reopened.head.seq == 3
        reopened.close()


def test_an_outage_is_a_typed_error_and_the_queued_entries_land_once_after_it(
    nats_three: NatsCluster,
) -> None:
    journal = JetStreamJournal(nats_three.urls, LAYOUT, SHARD, flush_timeout_s=1.0)
    write(journal, 50)
    for node in range(3):
        nats_three.kill(node)

    journal.append(ticks(journal.head, 10))
    with pytest.raises(JournalUnavailableError):
        journal.flush()
    journal.append(ticks(journal.head, 5))  # queued behind the first ten
    with pytest.raises(JournalUnavailableError):
        journal.flush()
    assert journal.durable.seq == 50

    nats_three.restart_all()
    flush_until_durable(journal, within_s=30.0)
    assert journal.durable == journal.head
    assert journal.head.seq == 65
    assert verify_store(journal) == journal.head  # every entry once, in order
    write(journal, 5)
    assert verify_store(journal).seq == 70
    journal.close()
