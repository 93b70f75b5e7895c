"""An engine shard on a real nats-server refuses what no trader signed, as a publisher that
got past the NATS permissions would send it: an order in a victim's name signed by another
key, one with no signed order, one stating a better price than its trader signed, and an
amend signed by someone other than the order's trader never reach the journal (each is
logged); the signed orders around them are journaled and trade."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from tests.integration.cluster.engine_testing import (
    DOMAIN,
    TRADERS,
    EngineProcess,
    connected,
    journal_entries,
    new_order,
    offline_deployment,
    terms,
    wait_covered,
)

from perpdex.cluster.commands import publish
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.core.eip712 import sign_order
from perpdex.core.types import OrderId, Price
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine import Amend, Command, NewOrder, Tick
from perpdex.engine.codec import decode
from perpdex.settlement.payload import order_payload


def test_commands_their_traders_did_not_sign_never_reach_the_journal(
    nats_single: NatsCluster, tmp_path: Path
) -> None:
    layout = StreamLayout(shards=1, replicas=1, prefix="engsig")
    path, markets = offline_deployment(tmp_path / "deployment.json")
    btc = markets[0]
    maker, victim, forger = TRADERS[:3]
    ask = sign_order(terms(maker, btc, is_buy=False, nonce=1), maker, DOMAIN)
    # the forger signs a crossing buy as its own, then puts the victim's name on it
    own = sign_order(terms(forger, btc, is_buy=True, nonce=2), forger, DOMAIN)
    in_victims_name = replace(own, order=replace(own.order, trader=victim.address))
    bid = sign_order(terms(victim, btc, is_buy=True, ticks=-5, nonce=3), victim, DOMAIN)
    # the victim's own replacement of its bid, moved onto the maker's ask
    moved = sign_order(terms(victim, btc, is_buy=False, ticks=5, nonce=4), victim, DOMAIN)
    taker = sign_order(terms(victim, btc, is_buy=True, tif=Tif.IOC, nonce=5), victim, DOMAIN)
    log = tmp_path / "engine.log"
    engine = EngineProcess(path, nats_single.urls, layout, 0, log)

    async def scenario() -> list[Command]:
        client, js = await connected(nats_single.urls, layout)
        ask_id, last = 0, 0

        async def send(command: Command, dedup: bytes | None = None) -> int:
            """Published as a gateway would; ``dedup``: a new order's message id."""
            ((_, ack),) = await publish(js, layout, command, order_hash=dedup)  # type: ignore[arg-type]
            return ack.stream_seq

        try:
            await asyncio.to_thread(engine.wait_serving)
            ask_id = await send(new_order(ask), ask.order_hash)
            await send(new_order(in_victims_name), in_victims_name.order_hash)
            await send(replace(new_order(bid), payload=b""), bid.order_hash)
            better = replace(new_order(bid), price=Price(bid.order.limit_price + btc.tick_size))
            await send(better, b"better" + bid.order_hash)
            amend = Amend(
                market=btc.market,
                order_id=OrderId(ask_id),
                price=moved.order.limit_price,
                size=moved.order.size,
                payload=order_payload(moved),
            )
            await send(amend)
            last = await send(new_order(taker), taker.order_hash)
            await wait_covered(js, layout, ShardId(0), last)
        finally:
            await client.close()
        entries = await asyncio.to_thread(journal_entries, nats_single.urls, layout, ShardId(0))
        commands = [decode(item.entry)[2] for item in entries]
        return [c for c in commands if not isinstance(c, Tick)]

    try:
        journaled = asyncio.run(scenario())
    finally:
        assert engine.stop() == 0, log.read_text()
    assert [(type(c), c.account) for c in journaled if isinstance(c, NewOrder)] == [
        (NewOrder, maker.address),
        (NewOrder, victim.address),
    ]
    assert len(journaled) == 2, journaled  # the amend never got in either
    text = log.read_text()
    assert text.count("is not what its trader signed") == 4, text
    assert "is not signed by its trader" in text  # the forger's
    assert "carries no signed order" in text
    assert "its trader signed" in text and "states" in text  # the better price
    assert f"is signed by {victim.address}, the order is {maker.address}'s" in text
