"""The tape (recent trades, candles) outlives restarts: the node rebuilds it from the
journal, so after the engine, the gateway or the whole node restarts a client reads the
same trades and candles, to the millisecond."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.node_testing import maker_and_trader, running

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment
from perpdex.cli.up import fresh_deployment
from perpdex.sdk.client import Client
from perpdex.sdk.values import Candle, Trade


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


async def _tape(client: Client) -> tuple[list[Trade], list[Candle], list[Candle]]:
    return (
        await client.recent_trades("ETH-PERP"),
        await client.candles("ETH-PERP", "1m"),
        await client.candles("ETH-PERP", "1d"),
    )


def test_trades_and_candles_are_the_same_after_every_restart(
    deployment: Deployment, tmp_path: Path
) -> None:
    state = tmp_path / "state"

    async def scenario() -> None:
        async with running(deployment, state) as node:
            async with maker_and_trader(node, tmp_path) as (maker, trader):
                for i in range(3):
                    await maker.place("ETH-PERP", "sell", "0.5", str(3000 + i))
                    await trader.place("ETH-PERP", "buy", "0.5", str(3000 + i))
                    await asyncio.sleep(0.05)
                before = await _tape(trader)
                assert len(before[0]) == 3 and before[1] and before[2][-1].trades >= 3
            await node.restart_engine()
            async with maker_and_trader(node, tmp_path) as (_, trader):
                assert await _tape(trader) == before
            await node.restart_gateway()
            async with maker_and_trader(node, tmp_path) as (_, trader):
                assert await _tape(trader) == before
        # the whole node again, as `perpdex up` restarted on its state
        async with (
            running(deployment, state) as node,
            maker_and_trader(node, tmp_path) as (_, trader),
        ):
            assert await _tape(trader) == before

    asyncio.run(scenario())
