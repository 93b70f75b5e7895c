"""The keeper in the node's process (docs/keeper.md): the liquidator scanning the position
manager's fold, funding from the engine's own books, checkpoints of its journal, and the
oracle pusher given price paths.
It sends from the keeper key alone, so no other service of the node may use that key."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Final, TypeVar

from perpdex.chain.deployment import Deployment, Role
from perpdex.core.types import Collateral, MarketId, Price
from perpdex.engine.matching import MatchingEngine
from perpdex.keeper.accounts import AccountView, PositionView
from perpdex.keeper.funding import EngineBooks
from perpdex.keeper.price_path import PricePoint
from perpdex.keeper.runner import Keeper, KeeperAction, KeeperConfig, KeeperMode
from perpdex.risk import health
from perpdex.risk.manager import PositionManager
from perpdex.services.engine import EngineService

LOOP_READ_TIMEOUT_S: Final = 5.0
_T = TypeVar("_T")


def read_on(loop: asyncio.AbstractEventLoop, read: Coroutine[Any, Any, _T]) -> _T:
    """``read`` run on ``loop`` for a keeper's worker thread. A loop closed meanwhile (its
    process stopped while the tick ran) cuts the tick short as a cancelled read does, and
    ``read`` is closed instead of left never awaited."""
    try:
        future = asyncio.run_coroutine_threadsafe(read, loop)
    except RuntimeError:  # the loop is closed
        read.close()
        raise concurrent.futures.CancelledError from None
    return future.result(LOOP_READ_TIMEOUT_S)


class LoopBooks:
    """Book mids read on the event loop for the keeper's worker threads: the books are the
    loop's alone (even ``best()`` drops empty levels), and ``books`` is asked each time
    because a restart replaces them (the node's engine, or a cluster process's replicas)."""

    def __init__(
        self,
        books: Callable[[], Mapping[MarketId, MatchingEngine]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._books = books
        self._loop = loop

    def mid(self, market: MarketId) -> Price | None:
        return read_on(self._loop, self._mid(market))

    async def _mid(self, market: MarketId) -> Price | None:
        return EngineBooks(self._books()).mid(market)


class ManagerScan:
    """The liquidator's scan from the node's position manager, read on the event loop for
    the keeper's worker thread (the manager is the loop's alone, and a restart replaces
    it): every account with an open position in its fold of the chain (settled state, not
    pending fills: the contract liquidates what is settled), valued at ``prices``."""

    def __init__(
        self, manager: Callable[[], PositionManager], loop: asyncio.AbstractEventLoop
    ) -> None:
        self._manager = manager
        self._loop = loop

    def __call__(self, prices: Mapping[MarketId, Price]) -> list[AccountView]:
        return read_on(self._loop, self._views(prices))

    async def _views(self, prices: Mapping[MarketId, Price]) -> list[AccountView]:
        manager = self._manager()
        markets = manager.ledger.markets
        views: list[AccountView] = []
        for trader, account in sorted(manager.ledger.accounts.items()):
            positions = tuple(
                PositionView(
                    market,
                    p.size,
                    p.quote,
                    p.isolated,
                    Collateral(health.unsettled_funding(account, market, markets)),
                    health.isolated_health(account, market, prices, markets)
                    if p.isolated
                    else None,
                )
                for market, p in sorted(account.positions.items())
                if p.size != 0
            )
            if positions:
                cross = health.cross_health(account, prices, markets)
                views.append(AccountView(trader, cross, positions, manager.through))
        return views


def node_keeper(
    deployment: Deployment,
    engine: EngineService,
    manager: Callable[[], PositionManager],
    price_paths: Mapping[MarketId, Iterable[PricePoint]],
    interval_s: float,
    checkpoint_interval_s: float,
    *,
    mode: KeeperMode = "hold",
    gateway_url: str | None = None,
    on_action: Callable[[KeeperAction], None] | None = None,
) -> Keeper:
    """Call on the event loop. Without price paths nothing pushes prices: they stay put.
    ``hedge`` mode closes what the liquidator took over through the node's own gateway
    (``gateway_url``), with the keeper key's reduce-only IOC orders."""
    tasks = {"liquidator", "funding", "checkpoint", "params"} | (
        {"oracle"} if price_paths else set()
    )
    config = KeeperConfig(
        tasks=frozenset(tasks),
        interval_s=interval_s,
        checkpoint_interval_s=checkpoint_interval_s,
        journal=engine.journal_path,
        price_paths=price_paths,
        mode=mode,
        gateway_url=gateway_url,
    )
    loop = asyncio.get_running_loop()
    return Keeper(
        deployment,
        deployment.wallet(Role.KEEPER).account(),
        config,
        books=LoopBooks(lambda: engine.sequencer.engine.markets, loop),
        scan=ManagerScan(manager, loop),
        on_action=on_action,
    )
