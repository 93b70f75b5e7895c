"""The risk process of cluster mode on a real nats-server and a real anvil: its replicas
follow an engine shard's journal stream (written here by a sequencer over the stream
journal, as the engine process does), its position manager folds the chain, and what the
chain makes of the orders goes to the shard's command stream: a nonce the trader closed on
chain cancels the resting order; a fill the settlement process reports refused is told to
both traders once, and not again by a restarted process."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import pytest
from nats.js import JetStreamContext
from tests.integration.cluster.shard_testing import BTC, Shard0

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect as web3_connect
from perpdex.chain.transact import send
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.commands import decode_command
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.outcomes import encode_outcome, outcome_message_id
from perpdex.cluster.risk_process import RiskConfig, RiskProcess
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_streams
from perpdex.cluster.transport import connect
from perpdex.engine.commands import ChainCancel
from perpdex.engine.errors import CancelReason
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import Rejected, RejectReason

prefixes = (f"risk{n}" for n in itertools.count())


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


@pytest.fixture
def layout() -> Iterator[StreamLayout]:
    yield StreamLayout(shards=2, prefix=next(prefixes))  # streams of its own on the server


async def commands_of(js: JetStreamContext, layout: StreamLayout) -> list[object]:
    """Every command in shard 0's subject, in stream order."""
    info = await js.stream_info(layout.command_stream)
    if info.state.messages == 0:  # an empty stream's first_seq is 0, not a message
        return []
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(layout.command_stream, seq)
        if message.subject == layout.command_subject(ShardId(0)):
            found.append(decode_command(message.data or b""))
    return found


async def until_command(js: JetStreamContext, layout: StreamLayout, wanted: object) -> list[object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        commands = await commands_of(js, layout)
        if any(isinstance(c, ChainCancel) and _matches(c, wanted) for c in commands):
            return commands
        await asyncio.sleep(0.1)
    raise AssertionError(f"no command like {wanted}: {await commands_of(js, layout)}")


def _matches(command: ChainCancel, wanted: object) -> bool:
    assert isinstance(wanted, ChainCancel)
    return command.orders == wanted.orders and command.reason is wanted.reason


def test_an_order_closed_on_chain_is_cancelled_on_its_shard(
    deployment: Deployment, layout: StreamLayout, nats_single: NatsCluster
) -> None:
    shard = Shard0(nats_single.urls, layout, deployment)
    resting = shard.place(shard.order(Role.TRADER, is_buy=True, nonce=7, price=90_000))
    config = RiskConfig(deployment, nats_single.urls, layout, poll_interval_s=0.1)

    async def scenario() -> None:
        risk = RiskProcess(config)
        client = await connect(nats_single.urls, name="test")
        js = client.jetstream()
        await ensure_streams(js, layout)
        try:
            await risk.start()
            assert [o.command.order_id for o in risk.replicas.books[BTC].resting_orders()] == [
                resting
            ]
            web3 = web3_connect(deployment.rpc_url)
            exchange = bind(web3, deployment).exchange
            trader = deployment.wallet(Role.TRADER).account()
            await asyncio.to_thread(send, web3, trader, exchange.functions.cancel_orders([7]))
            wanted = ChainCancel(orders=((BTC, resting),), reason=CancelReason.ON_CHAIN)
            await until_command(js, layout, wanted)
        finally:
            await risk.stop()
            await client.close()

    try:
        asyncio.run(scenario())
    finally:
        shard.close()


def test_a_refused_fill_is_told_once_and_its_pending_fill_dropped(
    deployment: Deployment, layout: StreamLayout, nats_single: NatsCluster
) -> None:
    shard = Shard0(nats_single.urls, layout, deployment)
    ask = shard.order(Role.MAKER, is_buy=False, nonce=1)
    bid = shard.order(Role.TRADER, is_buy=True, nonce=2)
    maker_id = shard.place(ask)
    shard.place(shard.order(Role.MAKER, is_buy=False, nonce=3, price=110_000))  # rests on
    shard.place(bid)  # takes 10 lots of the first ask
    config = RiskConfig(deployment, nats_single.urls, layout, poll_interval_s=0.1)
    match = Match(maker=ask, taker=bid, price=ask.order.limit_price, size=ask.order.size)
    refused = Rejected(match, RejectReason.ORDER_CLOSED)

    async def scenario() -> None:
        client = await connect(nats_single.urls, name="test")
        js = client.jetstream()
        await ensure_streams(js, layout)
        risk = RiskProcess(config)
        try:
            await risk.start()
            assert len(risk.pm.pending) == 1  # the fill, not yet settled
            await js.publish(
                layout.outcome_subject(ShardId(0)),
                encode_outcome(refused),
                stream=layout.outcome_stream,
                headers={"Nats-Msg-Id": outcome_message_id(refused)},
            )
            deadline = time.monotonic() + 20
            while not [c for c in await commands_of(js, layout) if isinstance(c, ChainCancel)]:
                assert time.monotonic() < deadline, "no cancel for the refused fill"
                await asyncio.sleep(0.1)
            assert len(risk.pm.pending) == 0
        finally:
            await risk.stop()
        # a restarted risk process reads the outcome again, as history: no second report
        again = RiskProcess(config)
        try:
            await again.start()
            assert len(again.pm.pending) == 0
            await asyncio.sleep(0.5)
        finally:
            await again.stop()
        cancels = [c for c in await commands_of(js, layout) if isinstance(c, ChainCancel)]
        await client.close()
        (cancel,) = cancels
        assert isinstance(cancel, ChainCancel) and cancel.rejected is not None
        assert cancel.reason is CancelReason.FILL_REJECTED
        assert (cancel.rejected.maker_hash, cancel.rejected.taker_hash) == (
            ask.order_hash,
            bid.order_hash,
        )
        # ORDER_CLOSED names the maker at fault: nothing of it rests (the bid took it all)
        assert maker_id not in {order_id for _, order_id in cancel.orders}

    try:
        asyncio.run(scenario())
    finally:
        shard.close()
