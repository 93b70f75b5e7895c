"""The keeper in the node's process (docs/keeper.md): the liquidator, funding from the
engine's own books, checkpoints of its journal, and the oracle pusher given price paths.
It sends from the keeper key alone, so no other service of the node may use that key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Final

from perpdex.chain.deployment import Deployment, Role
from perpdex.core.types import MarketId, Price
from perpdex.keeper.funding import EngineBooks
from perpdex.keeper.price_path import PricePoint
from perpdex.keeper.runner import Keeper, KeeperConfig, KeeperMode
from perpdex.services.engine import EngineService

BOOK_READ_TIMEOUT_S: Final = 5.0


class LoopBooks:
    """The running engine's book mids, read on the event loop for the keeper's worker
    threads: the books are the loop's alone (even ``best()`` drops empty levels), and an
    engine restart replaces them."""

    def __init__(self, engine: EngineService, loop: asyncio.AbstractEventLoop) -> None:
        self._engine = engine
        self._loop = loop

    def mid(self, market: MarketId) -> Price | None:
        future = asyncio.run_coroutine_threadsafe(self._mid(market), self._loop)
        return future.result(BOOK_READ_TIMEOUT_S)

    async def _mid(self, market: MarketId) -> Price | None:
        return EngineBooks(self._engine.sequencer.engine.markets).mid(market)


def node_keeper(
    deployment: Deployment,
    engine: EngineService,
    price_paths: Mapping[MarketId, Iterable[PricePoint]],
    interval_s: float,
    checkpoint_interval_s: float,
    *,
    mode: KeeperMode = "hold",
    gateway_url: str | None = None,
) -> Keeper:
    """Call on the event loop. Without price paths nothing pushes prices: they stay put.
    ``hedge`` mode closes what the liquidator took over through the node's own gateway
    (``gateway_url``), with the keeper key's reduce-only IOC orders."""
    tasks = {"liquidator", "funding", "checkpoint"} | ({"oracle"} if price_paths else set())
    config = KeeperConfig(
        tasks=frozenset(tasks),
        interval_s=interval_s,
        checkpoint_interval_s=checkpoint_interval_s,
        journal=engine.journal_path,
        price_paths=price_paths,
        mode=mode,
        gateway_url=gateway_url,
    )
    books = LoopBooks(engine, asyncio.get_running_loop())
    return Keeper(deployment, deployment.wallet(Role.KEEPER).account(), config, books=books)
