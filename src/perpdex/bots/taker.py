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

from perpdex.bots.ioc import IocBot
from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Collateral, Price, Side, Size
from perpdex.core.units import to_size_units, units
from perpdex.sdk.chain_client import ChainClient
from perpdex.sdk.client import Client

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


class RandomTaker(IocBot):
    def __init__(self, client: Client, market: ListedMarket, spec: TakerSpec, seed: int) -> None:
        super().__init__(client, market, spec.slippage_ppm)
        self.spec = spec
        self.rng = random.Random(seed)

    async def _trade(self, chain: ChainClient) -> None:
        """Trade until cancelled."""
        while True:
            await asyncio.sleep(self.rng.expovariate(1 / self.spec.mean_interval_s))
            index = await self._index(chain)
            side, size = draw_order(
                self.rng, self.spec, self.fills.position, index, self.market.lot_size
            )
            await self._take(side, size, index)
