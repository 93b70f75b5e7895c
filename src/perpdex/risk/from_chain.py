"""A position manager rebuilt from the chain alone, and the deployment's EIP-712 domain and
engine markets: what every process that checks orders
or watches margin starts from (the embedded node, and in cluster mode each gateway, the
risk process and the keeper)."""

from __future__ import annotations

import asyncio

from web3 import Web3

from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment
from perpdex.chain.transact import connect
from perpdex.core.eip712 import ChainId, Eip712Domain
from perpdex.core.types import MarketId, Price
from perpdex.engine.config import MarketConfig
from perpdex.risk.indexer import ChainIndexer
from perpdex.risk.leverage import LeverageStore
from perpdex.risk.manager import PositionManager
from perpdex.risk.prices import PriceFeed


def engine_markets(deployment: Deployment) -> list[MarketConfig]:
    """The engine's configuration of each market ``deployment`` lists (tick and lot)."""
    return [MarketConfig(MarketId(m.id), m.tick_size, m.lot_size) for m in deployment.markets]


def deployment_domain(deployment: Deployment) -> Eip712Domain:
    """The EIP-712 domain orders of ``deployment`` are signed in."""
    return Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)


async def position_manager_from_chain(
    deployment: Deployment, leverage: LeverageStore | None = None
) -> PositionManager:
    """A position manager folded from the deployment's first block to the chain's head
    (``sync``); its web3 client is made in a worker thread, the one that polls."""
    web3: Web3 = await asyncio.to_thread(connect, deployment.rpc_url)
    contracts = bind(web3, deployment)
    domain = deployment_domain(deployment)
    listed = [MarketId(m.id) for m in deployment.markets]
    indexer = ChainIndexer(
        web3, contracts.exchange, contracts.markets, domain, listed, deployment.start_block
    )
    feed = PriceFeed(contracts.markets, listed)
    ticks = {MarketId(m.id): Price(m.tick_size) for m in deployment.markets}
    pm = PositionManager(indexer, feed, domain, leverage, ticks)
    await pm.sync()
    return pm
