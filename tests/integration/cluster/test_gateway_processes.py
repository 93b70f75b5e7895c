"""Two ``perpdex gateway`` processes side by side (two ports) on a real nats-server and a
real anvil, through the real SDK: the same signed order sent to both is placed once; a
gateway SIGKILLed in the middle of a stream of orders loses none it acknowledged, and the
other keeps serving; while NATS is down new orders are ``unavailable``, and they are taken
again once it is back.

Each engine shard is a ``perpdex engine --shard K`` process."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.cluster.gateway_testing import (
    GatewayProcesses,
    engine_processes,
    journaled,
)

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import StreamLayout
from perpdex.core.types import OrderHash
from perpdex.engine.commands import NewOrder
from perpdex.gateway.protocol import Placed
from perpdex.risk.from_chain import deployment_domain
from perpdex.sdk.batch import OrderSpec
from perpdex.sdk.client import Client
from perpdex.sdk.errors import SdkError
from perpdex.sdk.gateway_errors import CommandUnavailableError, InsufficientMarginError
from perpdex.settlement.payload import order_hash_of_payload

prefixes = (f"gwp{n}" for n in itertools.count())


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


@pytest.fixture
def layout() -> StreamLayout:
    return StreamLayout(shards=2, prefix=next(prefixes))


@pytest.fixture
def gateways(
    nats_single: NatsCluster, layout: StreamLayout, deployment: Deployment, tmp_path: Path
) -> Iterator[GatewayProcesses]:
    """Gateway processes (started by the test) on an engine process per shard."""
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")
    processes = GatewayProcesses(deployment_file, nats_single.urls, layout, tmp_path)
    with engine_processes(deployment_file, nats_single.urls, layout, tmp_path):
        try:
            yield processes
        finally:
            processes.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def client(url: str, deployment: Deployment, role: Role, state_dir: Path) -> Client:
    key = deployment.wallet(role).private_key
    assert key is not None
    return Client.connect(url, key, deployment, state_dir=state_dir)


def journaled_hashes(
    nats: NatsCluster, layout: StreamLayout, deployment: Deployment, awaited: set[OrderHash]
) -> list[OrderHash]:
    """Every order hash the engines journaled, once all of ``awaited`` are among them.

    An engine journals a command after the gateway acknowledged it (and, after an outage,
    once it has reconnected), so the reader waits up to 20 s for the acknowledged ones."""
    domain = deployment_domain(deployment)
    deadline = time.monotonic() + 20
    while True:
        hashes = [
            order_hash_of_payload(command.payload, domain)
            for shard in layout.all_shards
            for command in journaled(nats.urls, layout, shard)
            if type(command) is NewOrder
        ]
        if awaited <= set(hashes) or time.monotonic() > deadline:
            return hashes
        time.sleep(0.5)


def test_the_same_order_through_both_gateways_is_placed_once(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    gateways: GatewayProcesses,
    tmp_path: Path,
) -> None:
    a = gateways.start("gateway-0", free_port())
    b = gateways.start("gateway-1", free_port())

    async def scenario() -> tuple[OrderHash, list[Placed]]:
        # one trader's client, and the same client's retry through the other gateway
        first = client(a, deployment, Role.MAKER, tmp_path / "maker")
        retry = client(b, deployment, Role.MAKER, tmp_path / "maker-retry")
        async with first, retry:
            spec = OrderSpec("BTC-PERP", "sell", "0.01", "100000", client_id="twice")
            request, signed = first._place_request(spec)
            answers = await asyncio.gather(
                first._request(request, Placed), retry._request(request, Placed)
            )
        return signed.order_hash, answers

    order_hash, answers = asyncio.run(scenario())
    assert answers[0].order_id == answers[1].order_id  # the same engine order
    journal = journaled_hashes(nats_single, layout, deployment, {order_hash})
    assert journal.count(order_hash) == 1


def test_a_gateway_killed_mid_stream_loses_no_acknowledged_order_and_the_other_serves(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    gateways: GatewayProcesses,
    tmp_path: Path,
) -> None:
    a = gateways.start("gateway-0", free_port())
    b = gateways.start("gateway-1", free_port())
    acknowledged: dict[str, list[OrderHash]] = {a: [], b: []}

    async def stream(url: str, role: Role, market: str, size: str, price: int, count: int) -> None:
        """Orders one after another until ``count`` or the gateway is gone."""
        async with client(url, deployment, role, tmp_path / role.value) as trader:
            side = "sell" if role is Role.MAKER else "buy"
            for i in range(count):
                try:
                    placed = await trader.place(market, side, size, str(price + i))
                except (SdkError, ConnectionError):
                    return  # its gateway was killed under it
                acknowledged[url].append(placed.order_hash)

    async def scenario() -> None:
        to_a = asyncio.create_task(stream(a, Role.MAKER, "BTC-PERP", "0.001", 100_000, 10_000))
        to_b = asyncio.create_task(stream(b, Role.TRADER, "ETH-PERP", "0.01", 2_000, 40))
        while len(acknowledged[a]) < 10:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(gateways.kill, "gateway-0")  # SIGKILL, mid-stream
        await asyncio.wait_for(to_a, 60)
        await asyncio.wait_for(to_b, 120)

        # the survivor still takes orders after the other died
        async with client(b, deployment, Role.MAKER, tmp_path / Role.MAKER.value) as maker:
            placed = await maker.place("BTC-PERP", "sell", "0.001", "120000")
            acknowledged[b].append(placed.order_hash)

    asyncio.run(scenario())
    # every acknowledged order is durable: the engines journal all of them
    acked = {h for hashes in acknowledged.values() for h in hashes}
    assert not acked - set(journaled_hashes(nats_single, layout, deployment, acked))
    assert len(acknowledged[a]) >= 10  # acknowledged through A before it was killed
    assert len(acknowledged[b]) == 41  # B's stream ran to its end, and B served on


def test_a_leverage_cap_set_through_one_gateway_binds_on_the_other_and_a_new_one(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    gateways: GatewayProcesses,
    tmp_path: Path,
) -> None:
    """A bot that set 2x through A and reconnects to B, or to a gateway started after, must
    not trade at the market's 20x there (the trader holds 1,000,000 USDC: 25 BTC at 100,000
    fits 20x, not 2x)."""
    a = gateways.start("gateway-0", free_port())
    b = gateways.start("gateway-1", free_port())

    async def bound(url: str, state: str) -> None:
        async with client(url, deployment, Role.TRADER, tmp_path / state) as trader:
            deadline = time.monotonic() + 20
            while (await trader.leverage("BTC-PERP")).leverage != 2:
                assert time.monotonic() < deadline, f"{url} does not know the cap"
                await asyncio.sleep(0.1)
            with pytest.raises(InsufficientMarginError, match="leverage caps"):
                await trader.place("BTC-PERP", "buy", "25", "100000")

    async def set_through_a() -> None:
        async with client(a, deployment, Role.TRADER, tmp_path / "a") as trader:
            setting = await trader.set_leverage("BTC-PERP", "2")
            assert (setting.leverage, setting.chosen) == (2, True)

    asyncio.run(set_through_a())
    asyncio.run(bound(b, "b"))
    c = gateways.start("gateway-2", free_port())  # after the cap was set, a cache of none
    asyncio.run(bound(c, "c"))


def test_orders_are_unavailable_while_nats_is_down_and_taken_when_it_returns(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    gateways: GatewayProcesses,
    tmp_path: Path,
) -> None:
    url = gateways.start("gateway-0", free_port())

    async def scenario() -> tuple[OrderHash, OrderHash]:
        async with client(url, deployment, Role.MAKER, tmp_path / "maker") as maker:
            before = await maker.place("BTC-PERP", "sell", "0.01", "100000")
            await asyncio.to_thread(nats_single.stop, 0)
            try:
                await asyncio.sleep(1.0)  # the gateway's client saw its connection drop
                with pytest.raises(CommandUnavailableError):
                    await maker.place("BTC-PERP", "sell", "0.01", "100001")
                with pytest.raises(CommandUnavailableError):
                    await maker.set_leverage("BTC-PERP", "3")
                assert not (await maker.leverage("BTC-PERP")).chosen  # nothing changed
            finally:
                await asyncio.to_thread(nats_single.restart, 0)
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                try:
                    placed = await maker.place("BTC-PERP", "sell", "0.01", "100002")
                    return before.order_hash, placed.order_hash
                except CommandUnavailableError:
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.5)

    first, taken = asyncio.run(scenario())
    hashes = journaled_hashes(nats_single, layout, deployment, {first, taken})
    assert hashes == [first, taken]  # the refused one was never placed
