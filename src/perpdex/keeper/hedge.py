"""``hedge`` mode: close what the liquidator took over on the exchange's own book.

For each position the keeper holds, one reduce-only IOC order through the gateway (the
trader SDK), at the index price moved ``slippage_ppm`` against the keeper: it fills what
the book offers within that band now and never rests. Whatever does not fill is hedged
again on the keeper's next tick, and so on until it is flat (``Keeper._hedge``). Without a
gateway there is no book to hedge on: the keeper then holds (``hold``, the default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from perpdex.chain.deployment import ListedMarket
from perpdex.core.slippage import worst_price
from perpdex.core.types import MarketId, Price, Side, Size, TimeInForce
from perpdex.core.units import from_price_units, from_size_units
from perpdex.keeper.accounts import PositionView
from perpdex.sdk.client import Client, PlacedOrder

DEFAULT_SLIPPAGE_PPM: Final = 5_000
"""0.5%: the worst price a hedge accepts, from the index price."""


@dataclass(frozen=True, slots=True)
class HedgeOrder:
    market: MarketId
    side: Side
    size: Size
    limit: Price


def hedge_order(position: PositionView, index: Price, tick: Price, slippage_ppm: int) -> HedgeOrder:
    """The IOC that closes ``position``: a long sells, a short buys, at
    :func:`worst_price`."""
    side = Side.SELL if position.size > 0 else Side.BUY
    limit = worst_price(index, side, slippage_ppm, tick)
    return HedgeOrder(position.market, side, Size(abs(position.size)), limit)


class Hedger:
    def __init__(
        self,
        client: Client,
        markets: Iterable[ListedMarket],
        slippage_ppm: int = DEFAULT_SLIPPAGE_PPM,
    ) -> None:
        self.client = client
        self.markets = {MarketId(m.id): m for m in markets}
        self.slippage_ppm = slippage_ppm

    async def hedge(
        self, positions: Iterable[PositionView], prices: Mapping[MarketId, Price]
    ) -> list[PlacedOrder]:
        placed: list[PlacedOrder] = []
        for position in positions:
            market = self.markets[position.market]
            order = hedge_order(position, prices[market.id], market.tick_size, self.slippage_ppm)
            placed.append(
                await self.client.place(
                    market.symbol,
                    order.side,
                    from_size_units(order.size),
                    from_price_units(order.limit),
                    time_in_force=TimeInForce.IOC,
                    reduce_only=True,
                )
            )
        return placed
