"""Each service killed and restarted mid-stream (fills matched, not yet settled): the
engine from its journal (after a crash), the gateway, the settlement runner and the
position manager (from the chain only). At the end no accepted order is lost, no fill
settled twice, every fill settled once, and the off-chain state equals the chain's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.node_testing import client, matches_chain, running, settled

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect
from perpdex.cli.up import fresh_deployment
from perpdex.core.types import OrderHash
from perpdex.engine.events import Accepted, Event, Filled
from perpdex.services.engine import replay_events
from perpdex.services.node import Node
from perpdex.settlement.outcomes import fill_key
from perpdex.settlement.payload import match_from_fill, order_from_payload


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


async def _crash_engine(node: Node) -> None:
    await node.restart_engine(crash=True)


RESTARTS = {
    "engine": _crash_engine,
    "gateway": Node.restart_gateway,
    "settlement": Node.restart_settlement,
    "position manager": Node.restart_position_manager,
}


def _journal(node: Node) -> tuple[set[OrderHash], list[Filled]]:
    accepted: set[OrderHash] = set()
    fills: list[Filled] = []

    def collect(event: Event) -> None:
        if isinstance(event, Accepted):
            accepted.add(order_from_payload(event.order.payload, node.domain).order_hash)
        elif isinstance(event, Filled):
            fills.append(event)

    replay_events(node.engine.journal_path, node.engine.markets, collect)
    return accepted, fills


def test_every_service_restarts_mid_stream(deployment: Deployment, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            maker = client(node, Role.MAKER, tmp_path)
            trader = client(node, Role.TRADER, tmp_path)
            acked: set[OrderHash] = set()
            mid_stream = 0
            async with maker, trader:
                resting = await maker.place("BTC-PERP", "sell", "0.01", "120000")
                acked.add(resting.order_hash)
                for step, restart in enumerate(RESTARTS.values()):
                    price = str(100000 + 10 * step)
                    ask = await maker.place("ETH-PERP", "sell", "0.1", "3000", client_id=f"a{step}")
                    bid = await trader.place("BTC-PERP", "buy", "0.01", price, client_id=f"b{step}")
                    ask_btc = await maker.place("BTC-PERP", "sell", "0.01", price)
                    take = await trader.place("ETH-PERP", "buy", "0.1", "3000")
                    acked |= {o.order_hash for o in (ask, bid, ask_btc, take)}
                    mid_stream += bool(node.runner.unsettled() or len(node.pm.pending))
                    await restart(node)  # fills are matched, their settlement under way
                # an order rested through every restart is still the gateway's to cancel
                await maker.cancel(resting.order_hash)
                await settled(node)

            assert mid_stream > 0
            accepted, fills = _journal(node)
            assert acked <= accepted
            assert len(fills) == 2 * len(RESTARTS)
            web3 = connect(deployment.rpc_url)
            exchange = bind(web3, deployment).exchange
            logs = exchange.events.Filled().get_logs(from_block=deployment.start_block)
            on_chain = [
                (bytes(e["args"]["maker_hash"]), bytes(e["args"]["taker_hash"])) for e in logs
            ]
            assert len(on_chain) == len(set(on_chain))  # nothing settled twice
            assert set(on_chain) == {fill_key(match_from_fill(f, node.domain)) for f in fills}
            assert node.pm.reservations.total() == 0
            await matches_chain(node)

    asyncio.run(scenario())
