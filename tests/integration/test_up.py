"""`perpdex up`'s node on a real anvil: two wallets trade through the real gateway (the
SDK client), the position manager refuses what margin cannot carry, and the trade lands
on chain, where the contract's views show it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.node_testing import (
    maker_and_trader,
    matches_chain,
    running,
    settled,
    sizes,
    until,
)
from web3 import Web3
from web3.contract import Contract

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind, demo_funding
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect
from perpdex.cli.up import fresh_deployment
from perpdex.core.units import to_size_units
from perpdex.keeper.accounts import ChainAccounts
from perpdex.keeper.checkpoint import latest_checkpoint
from perpdex.sdk.gateway_errors import InsufficientMarginError
from perpdex.services.keeper import ManagerScan
from perpdex.services.node import Node


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


async def scan_matches_chain(node: Node, web3: Web3, exchange: Contract) -> None:
    """The keeper's scan from the position manager's fold is what the chain's views say
    (read at the head: only the block numbers may differ)."""
    scan = ManagerScan(lambda: node.pm, asyncio.get_running_loop())
    folded = await asyncio.to_thread(scan, node.pm.prices)
    chain = ChainAccounts(web3, exchange, node.listed, node.deployment.start_block)
    read = await asyncio.to_thread(chain.accounts)
    assert len(folded) == 2  # maker and trader
    assert [replace(view, block=0) for view in folded] == [replace(view, block=0) for view in read]


def test_two_wallets_trade_through_the_gateway_and_settle(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            async with maker_and_trader(node, tmp_path) as (maker, trader):
                await maker.place("BTC-PERP", "sell", "0.05", "100000")
                await trader.place("BTC-PERP", "buy", "0.03", "100010")
                with pytest.raises(InsufficientMarginError):
                    await trader.place("BTC-PERP", "buy", "1000", "100000")
                await settled(node)
                assert await sizes(trader) == {"BTC-PERP": Decimal("0.03")}
                maker_positions = await maker.settled_positions()
                assert [p.size for p in maker_positions] == [Decimal("-0.03")]
            await matches_chain(node)
            web3 = connect(deployment.rpc_url)
            contracts = bind(web3, deployment)
            await scan_matches_chain(node, web3, contracts.exchange)
            checkpoints = contracts.checkpoints
            await until(lambda: latest_checkpoint(checkpoints).seq > 0, "a checkpoint")
            # posted by the keeper task, the only sender of the keeper key
            keeper = deployment.wallet(Role.KEEPER).address
            posted = checkpoints.events.CheckpointPosted().get_logs(from_block=0)
            senders = {web3.eth.get_transaction(log["transactionHash"])["from"] for log in posted}
            assert senders == {str(keeper)}
            assert not node.tasks["keeper"].done()
            # margin for the positions the liquidator takes over, deposited at deploy time
            collateral, _, _ = contracts.exchange.functions.account(keeper).call()
            assert collateral == demo_funding()
            # the gateway shows the position manager's view of the account
            state = node.pm.account(deployment.wallet(Role.TRADER).address)
            assert state is not None and state.positions[0].size == to_size_units("0.03")

    asyncio.run(scenario())
