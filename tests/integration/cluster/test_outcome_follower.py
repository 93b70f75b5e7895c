"""The outcome follower on a real nats-server: a start whose every JetStream answer comes
too late (the loop blocked past the API timeout at each turn, as by a replica's history
being applied, or while a stream leader is elected) waits and starts once they come,
instead of failing the process's start."""

from __future__ import annotations

import asyncio
import time

from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.outcome_follower import OutcomeFollower
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import connect
from perpdex.core.eip712 import ChainId, Eip712Domain
from perpdex.core.types import Address
from perpdex.settlement.outcomes import FillOutcome

LAYOUT = StreamLayout(shards=1, replicas=1, prefix="outfollow")
DOMAIN = Eip712Domain(ChainId(31337), Address("0x" + "11" * 20))


def test_a_start_waits_for_answers_delayed_past_the_api_timeout(
    nats_single: NatsCluster,
) -> None:
    heard: list[FillOutcome] = []

    async def scenario() -> None:
        nc = await connect(nats_single.urls, name="test")
        follower = OutcomeFollower(nc, LAYOUT, DOMAIN, heard.append)
        busy = True

        async def hog() -> None:
            for _ in range(3):
                time.sleep(2.5)  # blocks the loop: every answer waits past its 2 s
                await asyncio.sleep(0)
            nonlocal busy
            busy = False

        hogging = asyncio.create_task(hog())
        await asyncio.sleep(0)  # the hog blocks first: the start's first request times out
        try:
            await follower.start()
            await follower.caught_up()
            assert not busy  # no answer came while the loop was blocked
        finally:
            await hogging
            await follower.stop()
            await nc.close()

    asyncio.run(scenario())
    assert heard == []
