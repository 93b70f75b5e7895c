"""The markets a deployment lists, found by symbol (any case) or id."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import MarketId
from perpdex.sdk.errors import UnknownMarketError


class Markets:
    def __init__(self, markets: Iterable[ListedMarket]) -> None:
        self._by_symbol = {market.symbol.upper(): market for market in markets}
        self._by_id = {market.id: market for market in self._by_symbol.values()}

    def __iter__(self) -> Iterator[ListedMarket]:
        return iter(self._by_id.values())

    def symbol(self, symbol: str) -> ListedMarket:
        """``"btc-perp"`` finds BTC-PERP; :class:`UnknownMarketError` lists the known ones."""
        try:
            return self._by_symbol[symbol.upper()]
        except KeyError:
            raise UnknownMarketError(
                f"unknown market {symbol!r} (listed: {self._known()})"
            ) from None

    def id(self, market: MarketId) -> ListedMarket:
        try:
            return self._by_id[market]
        except KeyError:
            raise UnknownMarketError(
                f"unknown market id {market} (listed: {self._known()})"
            ) from None

    def _known(self) -> str:
        return ", ".join(self._by_symbol) or "none"
