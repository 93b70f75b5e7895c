"""``perpdex engine --shard K`` on a real nats-server: every command published is applied
once (across SIGKILLs of the engine), its events are a replay of its journal, a stale
engine is fenced, and the loss of a NATS node costs nothing."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from itertools import count
from pathlib import Path

import pytest
from tests.integration.cluster.engine_testing import (
    EngineProcess,
    EventMessageSeen,
    Workload,
    assert_events_are_the_journals,
    assert_exactly_once,
    connected,
    event_messages,
    journal_entries,
    offline_deployment,
    wait_covered,
)

from perpdex.cluster.engine_process import FENCED_EXIT
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.nats_server import NatsCluster, NatsConfig
from perpdex.cluster.status import read_board, status_bucket
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.core.types import Address, MarketId, OrderId, Price, Side, Size
from perpdex.engine import CancelAccount, Command, NewOrder
from perpdex.engine.codec import encode
from perpdex.engine.config import MarketConfig

_prefixes = count()


def check_shard(urls: list[str], layout: StreamLayout, shard: ShardId, workload: Workload) -> None:
    """Every command of ``shard`` journaled once, and its events out, as a replay says
    (its engine stopped: a running one adds ticks)."""
    markets = tuple(m for m in workload.markets if layout.shard_of(m.market) == shard)

    async def scenario() -> None:
        client, js = await connected(urls, layout)
        try:
            entries = await asyncio.to_thread(journal_entries, urls, layout, shard)
            assert_exactly_once(entries, workload, shard)
            messages = await event_messages(js, layout, shard)
            assert_events_are_the_journals(entries, messages, markets)
        finally:
            await client.close()

    asyncio.run(scenario())


@pytest.fixture
def layout() -> StreamLayout:
    return StreamLayout(shards=2, replicas=1, prefix=f"eng{next(_prefixes)}")


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Path, tuple[MarketConfig, ...]]:
    return offline_deployment(tmp_path / "deployment.json")


def test_two_shards_journal_their_commands_and_publish_their_events(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: tuple[Path, tuple[MarketConfig, ...]],
    tmp_path: Path,
) -> None:
    path, markets = deployment
    engines = [
        EngineProcess(path, nats_single.urls, layout, shard, tmp_path / f"engine-{shard}.log")
        for shard in layout.all_shards
    ]
    workload = Workload(markets, layout, seed=3)

    async def send() -> None:
        client, js = await connected(nats_single.urls, layout)
        await workload.send(js, 400)
        for shard in layout.all_shards:
            await wait_covered(js, layout, shard, workload.last_seq(shard))
        # each says on the status board which command it reached, and that none waits
        bucket = await status_bucket(js, layout)
        want = {f"engine-{k}": (k, workload.last_seq(k), 0) for k in layout.all_shards}
        for _ in range(50):
            board = {v.name: (v.shard, v.seq, v.lag) for v in await read_board(bucket)}
            if board == want:
                break
            await asyncio.sleep(0.1)
        assert board == want
        await client.close()

    try:
        asyncio.run(send())
    finally:
        codes = [engine.stop() for engine in engines]
    assert codes == [0, 0], [engine.log.read_text() for engine in engines]
    for shard in layout.all_shards:
        check_shard(nats_single.urls, layout, shard, workload)


def test_an_engine_killed_mid_stream_resumes_exactly_after_its_journal(
    nats_single: NatsCluster,
    deployment: tuple[Path, tuple[MarketConfig, ...]],
    tmp_path: Path,
) -> None:
    layout = StreamLayout(shards=1, replicas=1, prefix=f"eng{next(_prefixes)}")
    path, markets = deployment
    log = tmp_path / "engine.log"
    workload = Workload(markets, layout, seed=5)
    engine = EngineProcess(path, nats_single.urls, layout, 0, log)

    async def scenario() -> None:
        nonlocal engine
        client, js = await connected(nats_single.urls, layout)
        done = asyncio.Event()

        async def send() -> None:
            while not done.is_set():
                await workload.send(js, 10, pause_s=0.002)

        sending = asyncio.create_task(send())
        try:
            for pause_s in (0.3, 0.7, 0.5):
                await asyncio.to_thread(engine.wait_serving)
                await asyncio.sleep(pause_s)
                engine.kill()  # mid-stream: a group applied, maybe journaled, maybe published
                engine = EngineProcess(path, nats_single.urls, layout, 0, log)
            await asyncio.to_thread(engine.wait_serving)
            await asyncio.sleep(0.5)
        finally:  # a failure above is reported, not left waiting on the sender
            done.set()
            await sending
        await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
        await client.close()

    try:
        asyncio.run(scenario())
    finally:
        code = engine.stop()
    assert code == 0, log.read_text()
    assert log.read_text().count("serving markets") == 4
    check_shard(nats_single.urls, layout, ShardId(0), workload)


def test_a_stale_engine_is_fenced_and_stops(
    nats_single: NatsCluster,
    deployment: tuple[Path, tuple[MarketConfig, ...]],
    tmp_path: Path,
) -> None:
    """An engine paused (a partition, a long GC) while its replacement took the shard over
    must not write when it wakes up."""
    layout = StreamLayout(shards=1, replicas=1, prefix=f"eng{next(_prefixes)}")
    path, markets = deployment
    workload = Workload(markets, layout, seed=9)
    stale = EngineProcess(path, nats_single.urls, layout, 0, tmp_path / "stale.log")
    fresh: EngineProcess | None = None

    async def scenario() -> None:
        nonlocal fresh
        client, js = await connected(nats_single.urls, layout)
        await workload.send(js, 100)
        await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
        stale.signal(signal.SIGSTOP)
        fresh = EngineProcess(path, nats_single.urls, layout, 0, tmp_path / "fresh.log")
        await workload.send(js, 100)
        await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
        stale.signal(signal.SIGCONT)  # it reads the commands the new one applied, too
        await workload.send(js, 100)
        assert await asyncio.to_thread(stale.wait, 30.0) == FENCED_EXIT
        await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
        await client.close()

    try:
        asyncio.run(scenario())
    finally:
        stale.signal(signal.SIGCONT)
        stale.kill()
        codes = [fresh.stop()] if fresh is not None else []
    assert "a newer engine took the shard over" in (tmp_path / "stale.log").read_text()
    assert codes == [0]
    check_shard(nats_single.urls, layout, ShardId(0), workload)


def test_the_engine_rides_through_the_loss_of_a_nats_node(
    nats_three: NatsCluster,
    deployment: tuple[Path, tuple[MarketConfig, ...]],
    tmp_path: Path,
) -> None:
    layout = StreamLayout(shards=1, replicas=3, prefix="threes")
    path, markets = deployment
    log = tmp_path / "engine.log"
    workload = Workload(markets, layout, seed=11)
    engine = EngineProcess(path, nats_three.urls, layout, 0, log)

    async def scenario() -> None:
        client, js = await connected(nats_three.urls, layout)
        done = asyncio.Event()

        async def send() -> None:
            while not done.is_set():
                await workload.send(js, 10, pause_s=0.005)

        sending = asyncio.create_task(send())
        await asyncio.to_thread(engine.wait_serving)
        await asyncio.sleep(1.0)
        info = await js.stream_info(layout.journal_stream(ShardId(0)))
        assert info.cluster is not None and info.cluster.leader is not None
        nats_three.kill(int(info.cluster.leader.removeprefix("n")) - 1)  # the journal's leader
        await asyncio.sleep(3.0)
        done.set()
        await sending
        await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
        await client.close()

    try:
        asyncio.run(scenario())
    finally:
        code = engine.stop()
    assert code == 0, log.read_text()
    assert log.read_text().count("serving markets") == 1  # the process never restarted
    check_shard(nats_three.urls, layout, ShardId(0), workload)


def test_a_nats_outage_is_waited_out_and_nothing_is_lost(
    deployment: tuple[Path, tuple[MarketConfig, ...]], tmp_path: Path
) -> None:
    """JetStream gone for longer than a flush waits: the engine keeps its group, says so
    once, and flushes it when the server is back."""
    layout = StreamLayout(shards=1, replicas=1, prefix="outage")
    path, markets = deployment
    log = tmp_path / "engine.log"
    workload = Workload(markets, layout, seed=13)
    with NatsCluster(NatsConfig(nodes=1)) as server:
        engine = EngineProcess(path, server.urls, layout, 0, log, "--flush-timeout", "1")

        async def before() -> None:
            client, js = await connected(server.urls, layout)
            await asyncio.to_thread(engine.wait_serving)
            await workload.send(js, 150)  # some orders expire in 0.3 to 0.6 s: ticks follow
            await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
            await client.close()

        async def after() -> None:
            client, js = await connected(server.urls, layout)
            await workload.send(js, 150)
            await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
            await client.close()

        try:
            asyncio.run(before())
            server.kill(0)
            time.sleep(4.0)  # the expiries come due: their ticks cannot be flushed
            server.restart(0)
            asyncio.run(after())
        finally:
            code = engine.stop()
        text = log.read_text()
        assert code == 0, text
        # logged once, not at every retry (again only if it fails anew after a recovery:
        # the server back, its stream leader not yet)
        assert 1 <= text.count("journal flush failed") <= 2, text
        assert "journal flush recovered" in text
        check_shard(server.urls, layout, ShardId(0), workload)


def test_a_restart_starts_from_the_snapshot_and_replays_only_the_rest(
    nats_single: NatsCluster,
    deployment: tuple[Path, tuple[MarketConfig, ...]],
    tmp_path: Path,
) -> None:
    layout = StreamLayout(shards=1, replicas=1, prefix=f"eng{next(_prefixes)}")
    path, markets = deployment
    log = tmp_path / "engine.log"
    workload = Workload(markets, layout, seed=17)

    def run_engine(chunks: int) -> None:
        engine = EngineProcess(path, nats_single.urls, layout, 0, log, "--snapshot-every", "70")

        async def send() -> None:
            client, js = await connected(nats_single.urls, layout)
            for _ in range(chunks):  # groups of 30 at most: snapshots between two of them
                await workload.send(js, 30)
                await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
            await client.close()

        try:
            asyncio.run(send())
        finally:
            assert engine.stop() == 0, log.read_text()

    run_engine(10)
    taken = [int(n) for n in re.findall(r"snapshot at journal entry (\d+)", log.read_text())]
    run_engine(3)
    text = log.read_text()
    (rebuilt,) = (
        int(n) for n in re.findall(r"rebuilt from the snapshot at journal entry (\d+)", text)
    )
    served = [int(n) for n in re.findall(r"serving .* \(journal entry (\d+)\)", text)]
    assert rebuilt == taken[-1] < served[1]  # the entries after the snapshot were replayed
    # a wrong snapshot would give other events to the commands after it than a replay
    check_shard(nats_single.urls, layout, ShardId(0), workload)


def test_a_start_publishes_the_events_its_predecessor_journaled_but_never_sent(
    nats_single: NatsCluster,
    deployment: tuple[Path, tuple[MarketConfig, ...]],
    tmp_path: Path,
) -> None:
    """Journal entries whose events never went out (their engine died between flush and
    publish), among them one whose events alone exceed a message: they go out in parts."""
    layout = StreamLayout(shards=1, replicas=1, prefix=f"eng{next(_prefixes)}")
    path, markets = deployment
    maker = Address("0x" + "ab" * 20)
    orders = [
        NewOrder(
            market=MarketId(0),
            order_id=OrderId(seq),
            account=maker,
            side=Side.BUY,
            price=Price(markets[0].tick_size * (1_000 + seq % 50)),
            size=Size(markets[0].lot_size),
        )
        for seq in range(1, 9_001)
    ]
    commands: list[Command] = [*orders, CancelAccount(maker)]  # 9,000 cancels in one entry
    now_ms = time.time_ns() // 1_000_000
    journal = JetStreamJournal(nats_single.urls, layout, ShardId(0))
    try:
        journal.append([encode(seq, now_ms, c) for seq, c in enumerate(commands, 1)], [0] * 9_001)
        journal.flush()
    finally:
        journal.close()
    engine = EngineProcess(path, nats_single.urls, layout, 0, tmp_path / "engine.log")
    engine.wait_serving(60)
    assert engine.stop() == 0

    async def read() -> list[EventMessageSeen]:
        client, js = await connected(nats_single.urls, layout)
        try:
            return await event_messages(js, layout, ShardId(0))
        finally:
            await client.close()

    messages = asyncio.run(read())
    entries = journal_entries(nats_single.urls, layout, ShardId(0))
    assert len(entries) == 9_002  # and the engine's claim (a tick)
    assert [m.part for m in messages if m.part] == [(1, 2), (2, 2)]
    shard_markets = tuple(m for m in markets if layout.shard_of(m.market) == 0)
    assert_events_are_the_journals(entries, messages, shard_markets)


def test_an_engine_waiting_for_jetstream_stops_on_sigterm(
    deployment: tuple[Path, tuple[MarketConfig, ...]], tmp_path: Path
) -> None:
    path, _ = deployment
    log = tmp_path / "engine.log"
    nowhere = ["nats://127.0.0.1:9"]  # discard: nothing listens
    layout = StreamLayout(shards=1, replicas=1, prefix="nowhere")
    engine = EngineProcess(path, nowhere, layout, 0, log)
    deadline = time.monotonic() + 60
    while "connecting to" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    time.sleep(1.0)  # trying
    assert engine.stop() == 0, log.read_text()
    assert "stopped while JetStream was away: no NATS server answered" in log.read_text()


def test_a_new_engine_claims_the_shard_before_any_command(
    nats_single: NatsCluster,
    deployment: tuple[Path, tuple[MarketConfig, ...]],
    tmp_path: Path,
) -> None:
    """The replacement is paused right after its start, the old engine wakes up alone and
    gets commands: it must still be fenced (the replacement's claim), not write them."""
    layout = StreamLayout(shards=1, replicas=1, prefix=f"eng{next(_prefixes)}")
    path, markets = deployment
    workload = Workload(markets, layout, seed=19)
    old = EngineProcess(path, nats_single.urls, layout, 0, tmp_path / "old.log")
    new: EngineProcess | None = None

    async def scenario() -> None:
        nonlocal new
        client, js = await connected(nats_single.urls, layout)
        await workload.send(js, 50)
        await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
        old.signal(signal.SIGSTOP)
        new = EngineProcess(path, nats_single.urls, layout, 0, tmp_path / "new.log")
        await asyncio.to_thread(new.wait_serving)
        new.signal(signal.SIGSTOP)
        old.signal(signal.SIGCONT)
        await workload.send(js, 50)
        assert await asyncio.to_thread(old.wait, 30.0) == FENCED_EXIT
        new.signal(signal.SIGCONT)
        await wait_covered(js, layout, ShardId(0), workload.last_seq(ShardId(0)))
        await client.close()

    try:
        asyncio.run(scenario())
    finally:
        old.signal(signal.SIGCONT)
        old.kill()
        if new is not None:
            new.signal(signal.SIGCONT)
        codes = [new.stop()] if new is not None else []
    assert codes == [0]
    check_shard(nats_single.urls, layout, ShardId(0), workload)
