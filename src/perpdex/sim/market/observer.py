"""What a market-data user sees, over time: the book through the gateway (an anonymous SDK
client) and the index price through the SDK's chain reader."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Price
from perpdex.core.units import to_price_units
from perpdex.sdk.chain_client import ChainReader
from perpdex.sdk.client import Client


@dataclass(frozen=True, slots=True)
class BookSample:
    at: float
    best_bid: Price | None
    best_ask: Price | None


@dataclass(frozen=True, slots=True)
class IndexSample:
    at: float
    price: Price


@dataclass
class Observer:
    client: Client
    """``login=False``: market data only."""
    market: ListedMarket
    poll_s: float = 0.2
    clock: Callable[[], float] = time.monotonic
    books: list[BookSample] = field(default_factory=list)
    index: list[IndexSample] = field(default_factory=list)

    async def run(self) -> None:
        """Record until cancelled."""
        await asyncio.gather(self._books(), self._index())

    async def _books(self) -> None:
        async for view in await self.client.book(self.market.symbol):
            bid, ask = view.best_bid, view.best_ask
            self.books.append(
                BookSample(
                    self.clock(),
                    None if bid is None else to_price_units(bid.price),
                    None if ask is None else to_price_units(ask.price),
                )
            )

    async def _index(self) -> None:
        reader = await asyncio.to_thread(ChainReader, self.client.deployment)
        while True:
            price = await asyncio.to_thread(reader.mark_price, self.market)
            self.index.append(IndexSample(self.clock(), price))
            await asyncio.sleep(self.poll_s)
