"""Commands published with the engine's wire codec on a real server: a retry is one
command and names the first one's sequence (the order id), a repeated request is two, an
account-wide command lands on every shard."""

from __future__ import annotations

from nats.js import JetStreamContext
from tests.integration.cluster.test_nats_streams import on_jetstream

from perpdex.cluster.commands import decode_command, publish
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import StreamLayout, ensure_streams
from perpdex.core.types import Address, MarketId, OrderHash, OrderId, Price, Side, Size
from perpdex.engine import CancelAccount, CancelAll, NewOrder

ALICE = Address("0x" + "a1" * 20)


def test_retries_repeats_and_account_wide_commands(nats_single: NatsCluster) -> None:
    layout = StreamLayout(shards=2, replicas=1, prefix="wire")
    order = NewOrder(
        market=MarketId(3),
        order_id=OrderId(0),
        account=ALICE,
        side=Side.SELL,
        price=Price(2_000),
        size=Size(5),
    )
    cancel_all = CancelAll(MarketId(3), ALICE)

    async def send(js: JetStreamContext) -> list[tuple[int, int, bool]]:
        await ensure_streams(js, layout)
        sent = [
            *await publish(js, layout, order, order_hash=OrderHash(b"\x01" * 32)),
            *await publish(js, layout, order, order_hash=OrderHash(b"\x01" * 32)),  # retried
            *await publish(js, layout, cancel_all, origin=b"gw1/1/1"),
            *await publish(js, layout, cancel_all, origin=b"gw1/1/1"),  # retried
            *await publish(js, layout, cancel_all, origin=b"gw1/1/2"),  # asked again
            *await publish(js, layout, CancelAccount(ALICE), origin=b"gw1/1/3"),
        ]
        for part, ack in sent:
            message = await js.get_msg(layout.command_stream, ack.stream_seq)
            assert message.subject == layout.command_subject(part.shard)
            assert decode_command(message.data or b"") == part.command
        return [(part.shard, ack.stream_seq, ack.duplicate) for part, ack in sent]

    acks = on_jetstream(nats_single, send)
    assert acks == [
        (1, 1, False),
        (1, 1, True),  # the same order: the order id the engine gives it (1) once
        (1, 2, False),
        (1, 2, True),
        (1, 3, False),
        (0, 4, False),
        (1, 5, False),
    ]
