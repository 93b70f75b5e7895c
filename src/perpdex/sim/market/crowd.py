"""A crowd of leveraged longs: each buys its target size (its collateral times its
leverage at the index price, :func:`perpdex.sim.cascade.scenario.traders`) with IOC orders
of at most ``chunk`` into the maker's asks, then holds it: the crowded book a crash
liquidates."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from perpdex.bots.ioc import IocBot
from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Side, Size
from perpdex.core.units import to_size_units
from perpdex.sdk.chain_client import ChainClient
from perpdex.sdk.client import Client
from perpdex.sim.cascade.scenario import TraderSpec

CHUNK: Final = to_size_units("0.5")


@dataclass(frozen=True, slots=True)
class CrowdSpec:
    chunk: Size = CHUNK
    slippage_ppm: int = 2_000
    """How far above the index a buy may fill; with 18x the most, initial margin holds."""
    attempts: int = 40
    pause_s: float = 0.2
    """Between orders: the maker refills its asks."""


class LeveragedLong(IocBot):
    def __init__(
        self, client: Client, market: ListedMarket, trader: TraderSpec, spec: CrowdSpec
    ) -> None:
        super().__init__(client, market, spec.slippage_ppm)
        self.trader = trader
        self.spec = spec

    async def _trade(self, chain: ChainClient) -> None:
        """Buy up to the target size, then hold until cancelled."""
        for _ in range(self.spec.attempts):
            missing = self.trader.size - self.fills.position
            if missing < self.market.lot_size:
                break
            await self._take(
                Side.BUY, Size(min(missing, self.spec.chunk)), await self._index(chain)
            )
            await asyncio.sleep(self.spec.pause_s)
        await asyncio.Event().wait()
