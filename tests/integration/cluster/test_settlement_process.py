"""``perpdex settlement`` on real processes: engine shards, a gateway, a real anvil and a
real nats-server. Crossing orders stream through the gateway while the settlement process
is SIGKILLed and started again: every engine fill ends on chain exactly once (no fill
settled twice, none left behind), and every fill's outcome is in the outcome stream."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.cluster.gateway_testing import (
    GatewayProcesses,
    engine_processes,
    journaled,
)
from tests.integration.cluster.test_gateway_processes import client, free_port

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Role, write_deployment
from perpdex.chain.transact import connect as web3_connect
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.outcomes import decode_outcome
from perpdex.cluster.replicas import ReplicaSet
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import connect
from perpdex.engine.events import Event, Filled
from perpdex.risk.from_chain import deployment_domain, engine_markets
from perpdex.settlement.outcomes import fill_key
from perpdex.settlement.payload import match_from_fill

prefixes = (f"settle{n}" for n in itertools.count())


def settlement_process(
    deployment_file: Path, urls: list[str], layout: StreamLayout, log: Path
) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "-m", "perpdex.cli.main", "settlement",
        "--deployment", str(deployment_file), "--nats", ",".join(urls),
        "--shards", str(layout.shards), "--prefix", layout.prefix, "--interval", "0.1",
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_fills_settle_once_across_a_killed_settlement_process(
    anvil: Anvil, nats_single: NatsCluster, tmp_path: Path
) -> None:
    deployment = fresh_deployment(anvil.rpc_url)
    domain = deployment_domain(deployment)
    layout = StreamLayout(shards=2, prefix=next(prefixes))
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")
    log = tmp_path / "settlement.log"
    urls = nats_single.urls

    async def trade(url: str, rounds: int, placed: list[int]) -> None:
        async with (
            client(url, deployment, Role.MAKER, tmp_path / "maker") as maker,
            client(url, deployment, Role.TRADER, tmp_path / "trader") as trader,
        ):
            for i in range(rounds):
                market, size, price = [("BTC-PERP", "0.001", 100_000), ("ETH-PERP", "0.01", 2_000)][
                    i % 2
                ]
                await maker.place(market, "sell", size, str(price))
                await trader.place(market, "buy", size, str(price))
                placed.append(i)

    with engine_processes(deployment_file, urls, layout, tmp_path):
        gateways = GatewayProcesses(deployment_file, urls, layout, tmp_path)
        settlement = settlement_process(deployment_file, urls, layout, log)
        try:
            url = gateways.start("gateway-0", free_port())
            placed: list[int] = []

            async def scenario() -> None:
                nonlocal settlement
                trading = asyncio.create_task(trade(url, 30, placed))
                while len(placed) < 10:
                    await asyncio.sleep(0.05)
                settlement.kill()  # SIGKILL mid-stream
                settlement.wait()
                await asyncio.sleep(0.5)
                settlement = settlement_process(deployment_file, urls, layout, log)
                await asyncio.wait_for(trading, 120)

            asyncio.run(scenario())
            fills = asyncio.run(_engine_fills(urls, layout, deployment))
            assert len(fills) == 30
            exchange = bind(web3_connect(deployment.rpc_url), deployment).exchange
            deadline = time.monotonic() + 60
            while True:
                events = exchange.events.Filled().get_logs(from_block=deployment.start_block)
                on_chain = [
                    (bytes(e["args"]["maker_hash"]), bytes(e["args"]["taker_hash"])) for e in events
                ]
                if set(on_chain) >= set(fills) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert sorted(on_chain) == sorted(set(on_chain)), "a fill settled twice"
            assert set(on_chain) == set(fills)
            # an outcome is published once its batch is mined: it may follow the chain
            deadline = time.monotonic() + 30
            while not asyncio.run(_outcome_keys(urls, layout, domain)) >= set(fills):
                assert time.monotonic() < deadline, "a settled fill has no outcome"
                time.sleep(0.5)
        finally:
            settlement.terminate()
            settlement.wait(30)
            gateways.close()
    assert b"Traceback" not in log.read_bytes()


async def _engine_fills(
    urls: list[str], layout: StreamLayout, deployment: object
) -> set[tuple[bytes, bytes]]:
    """The engine's fills, from a replay of the shards' journals."""
    from perpdex.chain.deployment import Deployment

    assert isinstance(deployment, Deployment)
    domain = deployment_domain(deployment)
    nc = await connect(urls, name="test")
    markets = engine_markets(deployment)
    replicas = ReplicaSet(nc, layout, markets)
    found: set[tuple[bytes, bytes]] = set()

    def note(event: Event) -> None:
        if isinstance(event, Filled):
            found.add(fill_key(match_from_fill(event, domain)))

    replicas.bus.subscribe(note)
    try:
        await replicas.start()
        await replicas.caught_up()
    finally:
        await replicas.stop()
        await nc.close()
    assert all(journaled(urls, layout, shard) for shard in layout.all_shards)
    return found


async def _outcome_keys(
    urls: list[str], layout: StreamLayout, domain: object
) -> set[tuple[bytes, bytes]]:
    from perpdex.core.eip712 import Eip712Domain

    assert isinstance(domain, Eip712Domain)
    nc = await connect(urls, name="test")
    js = nc.jetstream()
    info = await js.stream_info(layout.outcome_stream)
    keys = set()
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(layout.outcome_stream, seq)
        keys.add(fill_key(decode_outcome(message.data or b"", domain).match))
    await nc.close()
    return keys
