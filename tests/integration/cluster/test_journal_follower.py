"""A journal follower is the writer's engine again: the same events and books, live, through
the loss of a NATS node, and after its own restart (a new replica from the stream)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from itertools import count

import pytest
from tests.integration.cluster.pause_testing import Paused
from tests.unit.engine.engine_workloads import MARKETS, Run, mixed_commands

from perpdex.cluster.follower import JournalFollower
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.cluster.transport import connect
from perpdex.engine import ChainHead, Engine, EventBus, snapshot_bytes
from perpdex.engine.codec import encode
from perpdex.engine.commands import Command
from perpdex.engine.events import Event

COMMANDS = mixed_commands(seed=5, count=1_200)
SHARD = ShardId(0)
_prefixes = count()


class Replica:
    """A follower's engine and the events its bus gave, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.entries: list[int] = []
        bus = EventBus()
        bus.subscribe(self.events.append)
        self.engine = Engine(MARKETS, bus)

    def entry_begins(self, shard: ShardId, time: int, command: Command) -> None:
        pass

    def entry_ends(self, shard: ShardId, seq: int, command: Command) -> None:
        self.entries.append(seq)

    def message_applied(self, shard: ShardId) -> None:
        pass

    def state(self, head: ChainHead) -> bytes:
        return snapshot_bytes(self.engine, ChainHead(head.seq, b""))


@pytest.fixture
def layout() -> StreamLayout:
    return StreamLayout(shards=1, replicas=1, prefix=f"f{next(_prefixes)}")


@pytest.fixture
def writer(nats_single: NatsCluster, layout: StreamLayout) -> Iterator[Run]:
    run = Run(journal=JetStreamJournal(nats_single.urls, layout, SHARD), group_size=50)
    yield run
    assert run.journal is not None
    run.journal.close()


async def follow(urls: list[str], layout: StreamLayout, replica: Replica) -> JournalFollower:
    nc = await connect(urls, name="follower-test")
    follower = JournalFollower(nc, layout, SHARD, replica.engine, listener=replica)
    await follower.start()
    return follower


async def close(follower: JournalFollower) -> None:
    await follower.stop()
    await follower._nc.close()


def assert_same(replica: Replica, follower: JournalFollower, writer: Run) -> None:
    assert follower.failed is None
    assert writer.journal is not None
    assert follower.head == writer.journal.head
    assert replica.entries == list(range(1, writer.journal.head.seq + 1))
    assert replica.events == writer.events
    assert replica.state(follower.head) == writer.state()


def test_a_replica_gives_the_writers_events_and_books_history_then_live(
    nats_single: NatsCluster, layout: StreamLayout, writer: Run
) -> None:
    async def scenario() -> None:
        await asyncio.to_thread(writer.feed, COMMANDS[:500])  # before the follower starts
        replica = Replica()
        follower = await follow(nats_single.urls, layout, replica)
        try:
            await follower.caught_up()
            assert follower.head.seq == 500
            await asyncio.to_thread(writer.feed, COMMANDS[500:])  # live, while it follows
            assert writer.journal is not None
            assert await follower.reached(writer.journal.head.seq, timeout_s=20)
            assert_same(replica, follower, writer)
            assert not await follower.reached(writer.journal.head.seq + 1, timeout_s=0.3)
        finally:
            await close(follower)

    asyncio.run(scenario())


def test_a_replica_catches_up_while_answers_come_too_late(
    nats_single: NatsCluster, layout: StreamLayout, writer: Run
) -> None:
    """Every answer later than the API timeout for a while (the server stopped; in a
    process, the answer waits behind another shard's history applied on the same loop, or
    for a leader's election): each read of the tail times out until it answers again, and
    the replica then catches up instead of failing the process's start."""

    async def scenario() -> None:
        await asyncio.to_thread(writer.feed, COMMANDS[:100])
        replica = Replica()
        follower = await follow(nats_single.urls, layout, replica)
        try:
            with Paused(nats_single) as pause:
                await follower.caught_up(timeout_s=30)
                assert pause.over.is_set()  # no answer came while it was stopped
            assert follower.head.seq == 100
        finally:
            await close(follower)

    asyncio.run(scenario())


def test_a_replica_stops_at_an_entry_off_the_chain(
    nats_single: NatsCluster, layout: StreamLayout, writer: Run
) -> None:
    """Someone publishes around the writer: the replica refuses to apply it (and anything
    after), rather than drift from what the chain proves."""

    async def scenario() -> None:
        await asyncio.to_thread(writer.feed, COMMANDS[:100])
        replica = Replica()
        follower = await follow(nats_single.urls, layout, replica)
        try:
            await follower.caught_up()
            nc = follower._nc
            forged = encode(101, 10**12, COMMANDS[100][1])
            frame = len(forged).to_bytes(4, "big") + forged + bytes(32)
            await nc.jetstream().publish(layout.journal_subject(SHARD), frame)
            assert not await follower.reached(101, timeout_s=2)
            assert follower.failed is not None
            assert follower.head.seq == 100
        finally:
            await close(follower)

    asyncio.run(scenario())


def test_a_restarted_follower_rebuilds_the_same_replica(
    nats_single: NatsCluster, layout: StreamLayout, writer: Run
) -> None:
    async def scenario() -> None:
        first = Replica()
        follower = await follow(nats_single.urls, layout, first)
        await asyncio.to_thread(writer.feed, COMMANDS[:600])
        assert writer.journal is not None
        assert await follower.reached(writer.journal.head.seq, timeout_s=20)
        await close(follower)  # the process stops; the writer goes on
        await asyncio.to_thread(writer.feed, COMMANDS[600:])
        again = Replica()
        follower = await follow(nats_single.urls, layout, again)
        try:
            await follower.caught_up()
            assert_same(again, follower, writer)
        finally:
            await close(follower)

    asyncio.run(scenario())


def test_a_replica_follows_through_the_loss_of_a_nats_node(nats_three: NatsCluster) -> None:
    """The node that holds the follower's consumer is SIGKILLed mid-stream: the consumer
    is made again (on a live node) from the next message, and the replica ends equal to
    the writer, which rode through the election."""
    layout = StreamLayout(shards=1, replicas=3, prefix="killed")
    run = Run(journal=JetStreamJournal(nats_three.urls, layout, SHARD), group_size=50)

    async def scenario() -> None:
        replica = Replica()
        follower = await follow(nats_three.urls, layout, replica)
        try:
            await asyncio.to_thread(run.feed, COMMANDS[:400])
            assert run.journal is not None
            assert await follower.reached(run.journal.head.seq, timeout_s=20)
            subscription = follower._subscription
            assert subscription is not None
            info = await subscription.consumer_info()
            assert info.cluster is not None and info.cluster.leader is not None
            nats_three.kill(int(info.cluster.leader.removeprefix("n")) - 1)
            await asyncio.to_thread(run.feed, COMMANDS[400:])
            assert await follower.reached(run.journal.head.seq, timeout_s=30)
            assert_same(replica, follower, run)
        finally:
            await close(follower)

    try:
        asyncio.run(scenario())
    finally:
        assert run.journal is not None
        run.journal.close()


class Failing(Replica):
    """A replica whose listener fails at entry ``at`` (a bug in a handler)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def entry_ends(self, shard: ShardId, seq: int, command: Command) -> None:
        if seq == self.at:
            raise RuntimeError("a handler's bug")
        super().entry_ends(shard, seq, command)


def test_a_replica_whose_handler_fails_stops_rather_than_apply_twice(
    nats_single: NatsCluster, layout: StreamLayout, writer: Run
) -> None:
    """Applying the message again would apply its first entries twice; the replica stops
    (a gateway then refuses its shard's commands) and never applies an entry twice."""

    async def scenario() -> None:
        await asyncio.to_thread(writer.feed, COMMANDS[:300])
        replica = Failing(at=120)
        follower = await follow(nats_single.urls, layout, replica)
        try:
            assert not await follower.reached(300, timeout_s=3)
            assert isinstance(follower.failed, RuntimeError)
            assert replica.entries == list(range(1, 120))
        finally:
            await close(follower)

    asyncio.run(scenario())
