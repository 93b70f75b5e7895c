"""The engine process's intake of commands: a delivery that skips one is not queued, and
the commands are read again from the one after the last queued."""

from __future__ import annotations

import asyncio

from nats.aio.msg import Msg

from perpdex.cluster.engine_process import EngineProcessConfig, ShardEngine
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.core.eip712 import ChainId, Eip712Domain
from perpdex.core.types import Address, MarketId
from perpdex.engine.config import MarketConfig


def delivered(consumer: int, stream: int) -> Msg:
    reply = f"$JS.ACK.PERPDEX_CMD.c1.1.{stream}.{consumer}.1700000000000000000.0"
    return Msg(_client=None, subject="perpdex.cmd.0", reply=reply, data=b"")  # type: ignore[arg-type]


def test_a_skipped_delivery_reads_again_after_the_last_queued() -> None:
    config = EngineProcessConfig(
        shard=ShardId(0),
        servers=("nats://127.0.0.1:1",),
        layout=StreamLayout(shards=1),
        markets=(MarketConfig(MarketId(0)),),
        domain=Eip712Domain(ChainId(31337), Address("0x" + "11" * 20)),
    )

    async def scenario() -> tuple[list[int], list[int]]:
        engine = ShardEngine(config)
        again: list[int] = []

        async def resubscribe(js: object) -> None:
            again.append(engine._queued)

        engine._resubscribe = resubscribe  # type: ignore[method-assign]
        for consumer, stream in ((1, 10), (2, 12), (4, 15), (5, 16)):
            engine._on_command(delivered(consumer, stream), None, 0)  # type: ignore[arg-type]
        await asyncio.sleep(0)
        queued = [engine._queue.get_nowait().metadata.sequence.stream for _ in range(2)]
        assert engine._queue.empty()
        return queued, again

    queued, again = asyncio.run(scenario())
    assert queued == [10, 12]
    assert again == [12]
