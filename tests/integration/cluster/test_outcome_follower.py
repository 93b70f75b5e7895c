"""The outcome follower on a real nats-server: a start whose JetStream answers come too
late for a while (the server stopped; in a process, a stream leader being elected, or
the answer waiting behind a replica's history applied on the same loop) waits and starts
once they come, instead of failing the process's start."""

from __future__ import annotations

import asyncio

from tests.integration.cluster.pause_testing import Paused

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
        try:
            with Paused(nats_single) as pause:
                await follower.start()
                await follower.caught_up()
                assert pause.over.is_set()  # no answer came while it was stopped
        finally:
            await follower.stop()
            await nc.close()

    asyncio.run(scenario())
    assert heard == []
