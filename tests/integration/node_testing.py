"""Helpers of the tests that run `perpdex up`'s node on a real anvil: the node started
and stopped, the deployment's traders connected through the SDK, waits for settlement and
the position manager's fold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from pathlib import Path

from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect, send
from perpdex.risk.verify import differences
from perpdex.sdk.client import Client
from perpdex.services.node import Node, NodeConfig

TIMEOUT_S = 20.0


def feeds_to_admin(deployment: Deployment, *symbols: str) -> None:
    """Hand the mock price feeds of ``symbols`` (all when none) from the keeper to the
    admin before a node starts, so a test that moves a price never races the running
    node's keeper for the keeper key's nonce (the keeper pushes no price without a path)."""
    web3 = connect(deployment.rpc_url)
    keeper = deployment.wallet(Role.KEEPER).account()
    admin = deployment.wallet(Role.ADMIN).address
    for symbol, feed in bind(web3, deployment).oracles.items():
        if not symbols or symbol in symbols:
            send(web3, keeper, feed.functions.transfer_ownership(admin))


@asynccontextmanager
async def started(node: Node) -> AsyncIterator[Node]:
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


def running(deployment: Deployment, state_dir: Path) -> AbstractAsyncContextManager[Node]:
    """A node with every loop quick (fills settle within a tenth of a second)."""
    config = NodeConfig(
        state_dir=state_dir,
        poll_interval_s=0.05,
        settle_interval_s=0.05,
        checkpoint_interval_s=0.5,
        keeper_interval_s=0.2,
    )
    return started(Node(deployment, config))


def settling_by_hand(deployment: Deployment, state_dir: Path) -> AbstractAsyncContextManager[Node]:
    """A node whose settlement runs only when the test calls ``settle_once``."""
    config = NodeConfig(state_dir=state_dir, poll_interval_s=0.05, settle_interval_s=3600.0)
    return started(Node(deployment, config))


def client(node: Node, role: Role, nonces: Path) -> Client:
    key = node.deployment.wallet(role).private_key
    assert key is not None
    return Client.connect(node.gateway.url, key, node.deployment, state_dir=nonces)


@asynccontextmanager
async def maker_and_trader(node: Node, nonces: Path) -> AsyncIterator[tuple[Client, Client]]:
    """The deployment's maker and trader wallets, connected to the node's gateway."""
    maker = client(node, Role.MAKER, nonces)
    trader = client(node, Role.TRADER, nonces)
    async with maker, trader:
        yield maker, trader


async def sizes(trader: Client) -> dict[str, Decimal]:
    """The trader's open positions on chain: size by market symbol."""
    return {p.market: p.size for p in await trader.settled_positions()}


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def settled(node: Node) -> None:
    """Every durable fill has an outcome, and the position manager folded the chain's head."""
    await until(lambda: not node.runner.unsettled(), "settlement")
    web3 = connect(node.deployment.rpc_url)
    head = web3.eth.block_number
    await until(lambda: node.pm.through >= head and not len(node.pm.pending), "the fold")


async def matches_chain(node: Node) -> None:
    """The position manager's state is the chain's views (collateral, positions, funding
    snapshots, cross health)."""
    await settled(node)
    web3 = connect(node.deployment.rpc_url)
    pm = node.pm
    found = differences(
        pm.ledger,
        bind(web3, node.deployment).exchange,
        [w.address for w in node.deployment.wallets],
        node.listed,
        pm.quotes,
        pm.through,
    )
    assert found == []
