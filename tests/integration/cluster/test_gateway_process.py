"""A gateway of cluster mode on a real nats-server and a real anvil, through the real SDK:
commands go to the engine shards' command stream, answers come from the gateway's replicas
of the shards, and a command JetStream cannot take is ``unavailable``, never acknowledged.

Each engine shard is a ``perpdex engine --shard K`` process."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.cluster.engine_testing import EngineProcess
from tests.integration.cluster.gateway_testing import engine_processes, journaled

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.gateway_process import GatewayConfig, GatewayProcess
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.cluster.transport import connect
from perpdex.core.types import TimeInForce
from perpdex.engine.codec import HEADER, encode
from perpdex.engine.commands import Cancel, CancelAll, NewOrder, Tick
from perpdex.receipts import SignedReceipt
from perpdex.sdk.client import Client, PlacedOrder
from perpdex.sdk.gateway_errors import CommandUnavailableError, OrderRejectedError
from perpdex.sdk.values import Fill

TIMEOUT_S = 10.0
prefixes = (f"gw{n}" for n in itertools.count())


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


@pytest.fixture
def layout() -> StreamLayout:
    return StreamLayout(shards=2, prefix=next(prefixes))  # streams of its own on the server


@pytest.fixture
def engines(
    nats_single: NatsCluster, layout: StreamLayout, deployment: Deployment, tmp_path: Path
) -> Iterator[list[EngineProcess]]:
    """A ``perpdex engine --shard K`` process per shard."""
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")
    with engine_processes(deployment_file, nats_single.urls, layout, tmp_path) as started:
        yield started


@asynccontextmanager
async def gateway(
    urls: list[str], layout: StreamLayout, deployment: Deployment, name: str = "gateway-0"
) -> AsyncIterator[GatewayProcess]:
    process = GatewayProcess(
        GatewayConfig(deployment, urls, layout, name, verify_workers=0, wait_s=5.0)
    )
    try:
        await process.start()
        yield process
    finally:
        await process.stop()


def client(url: str, deployment: Deployment, role: Role, state_dir: Path) -> Client:
    key = deployment.wallet(role).private_key
    assert key is not None
    return Client.connect(url, key, deployment, state_dir=state_dir / role.value)


def test_orders_reach_their_shard_once_and_are_answered_from_the_replicas(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    engines: list[EngineProcess],
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with gateway(nats_single.urls, layout, deployment) as process:
            maker = client(process.url, deployment, Role.MAKER, tmp_path)
            trader = client(process.url, deployment, Role.TRADER, tmp_path)
            async with maker, trader:
                fills = await maker.account()
                ask = await maker.place("BTC-PERP", "sell", "0.05", "100000", client_id="a1")
                assert ask.size == Decimal("0.05") and ask.seq > 0  # applied by the engine
                eth = await maker.place("ETH-PERP", "sell", "1", "3000")
                await trader.place("BTC-PERP", "buy", "0.02", "100010")
                fill = await asyncio.wait_for(anext(fills), TIMEOUT_S)
                while not isinstance(fill, Fill):
                    fill = await asyncio.wait_for(anext(fills), TIMEOUT_S)
                assert fill.maker and fill.order_hash == "0x" + ask.order_hash.hex()
                with pytest.raises(OrderRejectedError) as refused:  # the replica's verdict
                    await trader.place(
                        "BTC-PERP", "buy", "0.01", "100000", time_in_force=TimeInForce.POST_ONLY
                    )
                assert refused.value.reason == "post_only_would_cross"
                await maker.cancel(eth.order_hash)
                assert await maker.cancel_all("BTC-PERP") == 1
                book = process.commands.markets
                assert not book[ask.signed.order.market].orders_of(ask.signed.order.trader)

        btc, eth_shard = (journaled(nats_single.urls, layout, s) for s in layout.all_shards)
        placed = [c for c in btc if isinstance(c, NewOrder)]
        assert [c.payload for c in placed].count(placed[0].payload) == 1
        assert ask.order_id == placed[0].order_id  # the engine's id: the stream sequence
        assert any(isinstance(c, CancelAll) for c in btc)
        # the engine's own ticks aside (its claim at each start, its timers)
        assert [type(c) for c in eth_shard if not isinstance(c, Tick)] == [NewOrder, Cancel]

    asyncio.run(scenario())


def test_each_order_gets_a_receipt_naming_its_shards_journal_entry(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    engines: list[EngineProcess],
    tmp_path: Path,
) -> None:
    """The cluster gateway signs, as the Checkpoints operator (the keeper), each order's
    entry in its own shard's journal: shard, seq, head and time as the stream holds them."""

    async def scenario() -> tuple[list[PlacedOrder], list[SignedReceipt]]:
        async with gateway(nats_single.urls, layout, deployment) as process:
            maker = client(process.url, deployment, Role.MAKER, tmp_path)
            async with maker:
                placed = [
                    await maker.place("BTC-PERP", "sell", "0.01", "100000"),
                    await maker.place("ETH-PERP", "sell", "1", "3000"),
                    await maker.place("BTC-PERP", "sell", "0.01", "100100"),
                ]
                receipts = [await maker.receipt(order.order_hash) for order in placed]
                assert maker.receipts.bad == []
                return placed, receipts

    placed, receipts = asyncio.run(scenario())
    keeper = deployment.wallet(Role.KEEPER).address
    assert all(signed.signer == keeper for signed in receipts)
    shards = [layout.shard_of(order.signed.order.market) for order in placed]
    assert [r.receipt.shard for r in receipts] == shards and set(shards) == {0, 1}
    for order, signed in zip(placed, receipts, strict=True):
        receipt = signed.receipt
        journal = JetStreamJournal(nats_single.urls, layout, ShardId(receipt.shard))
        try:
            entry = next(e for e in journal.read() if e.seq == receipt.seq)
        finally:
            journal.close()
        assert (receipt.order_hash, receipt.seq) == (order.order_hash, order.seq)
        assert receipt.head == entry.head
        assert receipt.time == HEADER.unpack_from(entry.entry)[1]


def test_a_command_jetstream_cannot_take_is_unavailable_and_orders_flow_when_it_returns(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    engines: list[EngineProcess],
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with gateway(nats_single.urls, layout, deployment) as process:
            maker = client(process.url, deployment, Role.MAKER, tmp_path)
            async with maker:
                await maker.place("BTC-PERP", "sell", "0.01", "100000")
                await asyncio.to_thread(nats_single.stop, 0)
                await asyncio.sleep(0.5)  # the gateway's client saw its connection drop
                try:
                    with pytest.raises(CommandUnavailableError):
                        await maker.place("BTC-PERP", "sell", "0.01", "100001")
                finally:
                    await asyncio.to_thread(nats_single.restart, 0)
                deadline = asyncio.get_running_loop().time() + 30
                while True:
                    try:
                        again = await maker.place("BTC-PERP", "sell", "0.01", "100002")
                        break
                    except CommandUnavailableError:
                        assert asyncio.get_running_loop().time() < deadline
                        await asyncio.sleep(0.5)
                assert again.size == Decimal("0.01") and again.seq > 0

        prices = [
            c.price for c in journaled(nats_single.urls, layout, ShardId(0)) if type(c) is NewOrder
        ]
        assert 100_001 * 10**6 not in prices  # refused as unavailable: never placed
        assert prices[-1] == 100_002 * 10**6

    asyncio.run(scenario())


def test_a_shard_whose_replica_stopped_is_unavailable_the_others_serve(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    engines: list[EngineProcess],
    tmp_path: Path,
) -> None:
    """An entry off the chain in shard 1's journal (published around its engine) stops the
    gateway's replica of shard 1: it no longer knows that shard's books, so it takes none
    of its orders (``unavailable``), while shard 0's are taken as before."""

    async def scenario() -> None:
        async with gateway(nats_single.urls, layout, deployment) as process:
            forged = encode(1, 10**12, Tick())
            nc = await connect(nats_single.urls, name="forger")
            try:
                frame = len(forged).to_bytes(4, "big") + forged + bytes(32)
                await nc.jetstream().publish(layout.journal_subject(ShardId(1)), frame)
            finally:
                await nc.close()
            replica = process.commands.replicas.followers[1]
            deadline = asyncio.get_running_loop().time() + TIMEOUT_S
            while replica.failed is None:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
            maker = client(process.url, deployment, Role.MAKER, tmp_path)
            async with maker:
                with pytest.raises(CommandUnavailableError):
                    await maker.place("ETH-PERP", "sell", "1", "3000")
                placed = await maker.place("BTC-PERP", "sell", "0.01", "100000")
                assert placed.seq > 0

    asyncio.run(scenario())


def test_orders_placed_through_one_gateway_are_cancelled_and_filled_through_the_other(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    engines: list[EngineProcess],
    tmp_path: Path,
) -> None:
    """Each gateway registers the other's orders when its replica applies them: an order
    placed through the first is cancelled through the second; another, amended, is filled
    by an order through the second, and the placing trader's account stream (on the
    first) hears the fill of the amended order."""

    async def scenario() -> None:
        async with (
            gateway(nats_single.urls, layout, deployment, "gateway-0") as first,
            gateway(nats_single.urls, layout, deployment, "gateway-1") as second,
        ):
            state = tmp_path / "maker"  # one wallet, one nonce file, two connections
            maker = client(first.url, deployment, Role.MAKER, state)
            maker_elsewhere = client(second.url, deployment, Role.MAKER, state)
            trader = client(second.url, deployment, Role.TRADER, tmp_path / "trader")
            async with maker, maker_elsewhere, trader:
                fills = await maker.account()
                cancelled = await maker.place("BTC-PERP", "sell", "0.01", "101000")
                await asyncio.sleep(0.5)  # the second gateway's replica applies it
                await maker_elsewhere.cancel(cancelled.order_hash)

                ask = await maker.place("BTC-PERP", "sell", "0.02", "100500")
                await asyncio.sleep(1.1)  # a fresh expiry would differ: the amend keeps it
                amended = await maker.amend(ask.order_hash, price="100400")
                assert amended.seq > 0 and amended.order_id == ask.order_id
                await trader.place("BTC-PERP", "buy", "0.02", "100450")
                fill = await asyncio.wait_for(anext(fills), TIMEOUT_S)
                while not isinstance(fill, Fill):
                    fill = await asyncio.wait_for(anext(fills), TIMEOUT_S)
                assert fill.maker and fill.order_hash == "0x" + amended.order_hash.hex()
                assert fill.price == Decimal("100400")
            for process in (first, second):
                book = process.commands.markets[ask.signed.order.market]
                assert not book.orders_of(ask.signed.order.trader)

    asyncio.run(scenario())
