"""The stream layout on a real server: created idempotently, commands de-duplicated by
order hash, each market's commands on its shard's subject."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import (
    ShardId,
    StreamLayout,
    ensure_streams,
    publish_command,
)
from perpdex.core.types import MarketId

T = TypeVar("T")


def on_jetstream(nats_server: NatsCluster, work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    async def run() -> T:
        client = await nats.connect(nats_server.urls)
        try:
            return await work(client.jetstream())
        finally:
            await client.close()

    return asyncio.run(run())


def test_the_streams_are_created_idempotently_as_the_layout_says(nats_single: NatsCluster) -> None:
    layout = StreamLayout(shards=2, replicas=1, prefix="layout")

    async def create_twice(js: JetStreamContext) -> list[str]:
        await ensure_streams(js, layout)
        await ensure_streams(js, layout)
        return sorted(
            name
            for info in await js.streams_info()
            if (name := info.config.name or "").startswith("LAYOUT_")
        )

    names = on_jetstream(nats_single, create_twice)
    assert names == sorted(config.name or "" for config in layout.configs())

    async def journal_config(js: JetStreamContext) -> StreamConfig:
        return (await js.stream_info(layout.journal_stream(ShardId(1)))).config

    config = on_jetstream(nats_single, journal_config)
    assert config.subjects == ["layout.journal.1"]
    assert config.num_replicas == 1
    assert config.deny_delete and config.deny_purge


def test_an_existing_stream_is_brought_to_a_changed_layout(nats_single: NatsCluster) -> None:
    before = StreamLayout(shards=1, replicas=1, prefix="change")
    after = StreamLayout(shards=1, replicas=1, prefix="change", command_dedup_s=30.0)

    async def change(js: JetStreamContext) -> float:
        await ensure_streams(js, before)
        await ensure_streams(js, after)
        return (await js.stream_info(after.command_stream)).config.duplicate_window

    assert on_jetstream(nats_single, change) == 30.0


def test_a_command_published_twice_with_its_order_hash_is_stored_once(
    nats_single: NatsCluster,
) -> None:
    layout = StreamLayout(shards=2, replicas=1, prefix="dedup")
    order_hash, other_hash = bytes(range(32)), bytes(range(1, 33))
    market = MarketId(3)  # shard 1 of 2

    async def publish(js: JetStreamContext) -> tuple[list[tuple[int, bool]], int, int]:
        await ensure_streams(js, layout)
        acks = [
            await publish_command(js, layout, market, b"order", order_hash),
            await publish_command(js, layout, market, b"order retried", order_hash),
            await publish_command(js, layout, market, b"another order", other_hash),
        ]
        info = await js.stream_info(layout.command_stream, subjects_filter=">")
        subjects = info.state.subjects or {}
        return (
            [(ack.stream_seq, ack.duplicate) for ack in acks],
            info.state.messages,
            subjects.get("dedup.cmd.1", 0),
        )

    acks, stored, on_shard_1 = on_jetstream(nats_single, publish)
    assert acks == [(1, False), (1, True), (2, False)]
    assert stored == on_shard_1 == 2
