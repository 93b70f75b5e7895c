"""Random takers: IOC orders with seeded side, size and timing, capped in leverage.

Each taker waits an exponential time (mean ``mean_interval_s``), draws a side and a size
(whole lots in ``[min_size, max_size]``) from its own ``random.Random``, and sends an IOC
limited ``slippage_ppm`` from the index price (read through the SDK's chain reader). When
the drawn side would take its position's notional past ``max_leverage`` times its
collateral, it trades the other side instead: a taker never levers up beyond the cap, and
the gateway's margin check is the backstop, not the rule.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Final

from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Collateral, MarketId, Price, Side, Size, TimeInForce
from perpdex.core.units import from_price_units, from_size_units, to_size_units, units
from perpdex.keeper.hedge import worst_price
from perpdex.sdk.client import Client
from perpdex.sdk.gateway_errors import GatewayError
from perpdex.sim.bots.fills import OwnFills

MIN_SIZE: Final = to_size_units("0.01")
MAX_SIZE: Final = to_size_units("0.2")


@dataclass(frozen=True, slots=True)
class TakerSpec:
    collateral: Collateral
    max_leverage: int = 3
    min_size: Size = MIN_SIZE
    max_size: Size = MAX_SIZE
    mean_interval_s: float = 0.5
    slippage_ppm: int = 3_000


def notional(size: int, price: Price) -> int:
    """Collateral units of ``abs(size)`` at ``price`` (rounded down)."""
    return abs(size) * price // units().size_scale


def draw_order(
    rng: random.Random, spec: TakerSpec, position: int, index: Price, lot: Size
) -> tuple[Side, Size]:
    """The next order's side and size: random, except that a side taking the position
    past the leverage cap is replaced by the other one."""
    side = rng.choice((Side.BUY, Side.SELL))
    size = Size(rng.randint(spec.min_size // lot, spec.max_size // lot) * lot)
    cap = spec.collateral * spec.max_leverage
    if notional(position + side * size, index) > cap:
        side = side.opposite
    return side, size


class RandomTaker:
    def __init__(self, client: Client, market: ListedMarket, spec: TakerSpec, seed: int) -> None:
        self.client = client
        self.market = market
        self.spec = spec
        self.rng = random.Random(seed)
        self.fills = OwnFills(MarketId(market.id))
        self.sent = 0
        self.refused = 0

    async def run(self) -> None:
        """Trade until cancelled."""
        follower = asyncio.create_task(self.fills.follow(await self.client.account()))
        chain = await self.client.chain()
        try:
            while True:
                await asyncio.sleep(self.rng.expovariate(1 / self.spec.mean_interval_s))
                index = await asyncio.to_thread(chain.mark_price, self.market)
                side, size = draw_order(
                    self.rng, self.spec, self.fills.position, index, self.market.lot_size
                )
                limit = worst_price(index, side, self.spec.slippage_ppm, self.market.tick_size)
                self.sent += 1
                try:
                    await self.client.place(
                        self.market.symbol,
                        side,
                        from_size_units(size),
                        from_price_units(limit),
                        time_in_force=TimeInForce.IOC,
                    )
                except GatewayError:
                    self.refused += 1
        finally:
            follower.cancel()
