"""The price feed: each market's price as the Exchange values positions at
(``Markets.price(market) -> (price, fresh)``). Blocking: called in a worker thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from web3.contract import Contract

from perpdex.core.types import MarketId, Price


@dataclass(frozen=True, slots=True)
class Quote:
    price: Price
    fresh: bool
    """False: the oracle is stale or faulty and ``price`` is the last good one."""


class PriceFeed:
    def __init__(self, markets: Contract, listed: Sequence[MarketId]) -> None:
        self._markets = markets
        self._listed = tuple(listed)

    def read(self, block: int | None = None) -> dict[MarketId, Quote]:
        quotes: dict[MarketId, Quote] = {}
        for market in self._listed:
            price, fresh = self._markets.functions.price(market).call(block_identifier=block)
            quotes[market] = Quote(Price(price), bool(fresh))
        return quotes
