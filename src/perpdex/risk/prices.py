"""The price feed: each listed market's price as the Exchange values positions at, and the
fees it charges, both read from ``Markets.risk(market)``: the very view ``settle`` reads,
so the fees are the effective ones whatever way a parameter change takes effect.
Blocking: called in a worker thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from web3.contract import Contract

from perpdex.core.types import MarketId, Price
from perpdex.core.units import contracts_dir, vyper_constants


@dataclass(frozen=True, slots=True)
class Quote:
    price: Price
    fresh: bool
    """False: the oracle is stale or faulty and ``price`` is the last good one."""
    maker_fee_ppm: int
    taker_fee_ppm: int


@dataclass(frozen=True, slots=True)
class _FeeFields:
    maker_offset: int
    taker_offset: int
    mask: int


@cache
def _fee_fields() -> _FeeFields:
    """Where the fees sit in a market's parameter word (``contracts/params.vy``)."""
    constants = vyper_constants(contracts_dir() / "params.vy")
    return _FeeFields(
        constants["MAKER_FEE_OFFSET"], constants["TAKER_FEE_OFFSET"], constants["MASK_32"]
    )


def quote_of(params: int, price: int, fresh: bool) -> Quote:
    """A quote from the fields of ``Markets.risk``."""
    fields = _fee_fields()
    return Quote(
        Price(price),
        fresh,
        (params >> fields.maker_offset) & fields.mask,
        (params >> fields.taker_offset) & fields.mask,
    )


class PriceFeed:
    def __init__(self, markets: Contract, listed: Sequence[MarketId]) -> None:
        self._markets = markets
        self._listed = tuple(listed)

    def read(self, block: int | None = None) -> dict[MarketId, Quote]:
        """Quotes of the markets that are listed on chain (a market whose parameter word is
        zero is not: the contract refuses its fills, so it gets no quote)."""
        quotes: dict[MarketId, Quote] = {}
        for market in self._listed:
            params, price, fresh, _ = self._markets.functions.risk(market).call(
                block_identifier=block
            )
            if params:
                quotes[market] = quote_of(params, price, bool(fresh))
        return quotes
