"""The leverage bucket on a real nats-server: a gateway's cache and the bucket merged both
ways at start (the bucket wins; a setting only the cache holds, whose put a crash cut off,
is put again), a change through one board reaches another's store, and an entry no gateway
writes is skipped."""

from __future__ import annotations

import asyncio
import itertools
import time
from decimal import Decimal

from tests.integration.cluster.pause_testing import API_TIMEOUT_S, Paused

from perpdex.cluster.leverage_board import LeverageBoard, bucket_name
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import connect
from perpdex.core.types import Address, MarketId
from perpdex.risk.leverage import LeverageStore

prefixes = (f"lev{n}" for n in itertools.count())
ALICE = Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
BOB = Address("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
BTC, ETH = MarketId(0), MarketId(1)


def test_boards_merge_at_start_and_follow_each_other(nats_single: NatsCluster) -> None:
    layout = StreamLayout(shards=2, prefix=next(prefixes))

    async def scenario() -> None:
        nc = await connect(nats_single.urls, name="test")
        js = nc.jetstream()
        first = LeverageStore()
        board = await LeverageBoard.open(js, layout, first)
        await board.put(ALICE, BTC, Decimal(3))
        bucket = await js.key_value(bucket_name(layout.prefix))
        await bucket.put("not-a-setting", b"x")
        cache = LeverageStore()  # a restarted gateway's cache: stale for ALICE, BOB unshared
        cache.set(ALICE, BTC, Decimal(10))
        cache.set(BOB, ETH, Decimal(4))
        second = await LeverageBoard.open(js, layout, cache)
        assert sorted(cache.settings()) == sorted(
            [(ALICE, BTC, Decimal(3)), (BOB, ETH, Decimal(4))]
        )
        board.start()
        second.start()
        try:
            deadline = time.monotonic() + 10
            while (BOB, ETH, Decimal(4)) not in first.settings():  # put again by `second`
                assert time.monotonic() < deadline, "the cache's own setting was not shared"
                await asyncio.sleep(0.05)
            await second.share(ALICE, BTC, Decimal(2))
            while first.of(ALICE).get(BTC) != Decimal(2):
                assert time.monotonic() < deadline, "a change did not reach the other board"
                await asyncio.sleep(0.05)
        finally:
            await board.stop()
            await second.stop()
            await nc.close()

    asyncio.run(scenario())


def test_a_board_opened_while_answers_come_too_late_waits_for_them(
    nats_single: NatsCluster,
) -> None:
    layout = StreamLayout(shards=2, prefix=next(prefixes))

    async def scenario() -> None:
        nc = await connect(nats_single.urls, name="test")
        store = LeverageStore()
        store.set(ALICE, BTC, Decimal(5))
        try:
            with Paused(nats_single) as pause:
                board = await LeverageBoard.open(nc.jetstream(timeout=API_TIMEOUT_S), layout, store)
                assert pause.over.is_set()  # no answer came while it was stopped
            assert await board._read_all() == [(ALICE, BTC, Decimal(5))]
        finally:
            await nc.close()

    asyncio.run(scenario())
