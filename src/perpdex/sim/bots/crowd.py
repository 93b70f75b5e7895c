"""A crowd of leveraged longs: each buys its target size (its collateral times its
leverage at the index price, :func:`perpdex.sim.cascade.scenario.traders`) with IOC orders
of at most ``chunk`` into the maker's asks, then holds it: the crowded book a crash
liquidates."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import MarketId, Side, Size, TimeInForce
from perpdex.core.units import from_price_units, from_size_units, to_size_units
from perpdex.keeper.hedge import worst_price
from perpdex.sdk.client import Client
from perpdex.sdk.gateway_errors import GatewayError
from perpdex.sim.bots.fills import OwnFills
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


class LeveragedLong:
    def __init__(
        self, client: Client, market: ListedMarket, trader: TraderSpec, spec: CrowdSpec
    ) -> None:
        self.client = client
        self.market = market
        self.trader = trader
        self.spec = spec
        self.fills = OwnFills(MarketId(market.id))
        self.sent = 0
        self.refused = 0

    async def run(self) -> None:
        """Buy up to the target size, then hold until cancelled."""
        follower = asyncio.create_task(self.fills.follow(await self.client.account()))
        chain = await self.client.chain()
        try:
            for _ in range(self.spec.attempts):
                missing = self.trader.size - self.fills.position
                if missing < self.market.lot_size:
                    break
                index = await asyncio.to_thread(chain.mark_price, self.market)
                limit = worst_price(index, Side.BUY, self.spec.slippage_ppm, self.market.tick_size)
                self.sent += 1
                try:
                    await self.client.place(
                        self.market.symbol,
                        Side.BUY,
                        from_size_units(Size(min(missing, self.spec.chunk))),
                        from_price_units(limit),
                        time_in_force=TimeInForce.IOC,
                    )
                except GatewayError:
                    self.refused += 1
                await asyncio.sleep(self.spec.pause_s)
            await asyncio.Event().wait()
        finally:
            follower.cancel()
