"""The markets a deployment lists, with the price each one's mock oracle starts at.

Amounts are written as human decimals and converted by :mod:`perpdex.core.units`, whose scales
come from ``contracts/units.vy``: no scale is retyped here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from perpdex.core.types import Price, Size
from perpdex.core.units import to_price_units, to_size_units, units

ORACLE_DECIMALS = 8
"""Decimals of the mock price feeds: Chainlink's USD feeds use 8."""


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """The arguments of ``Exchange.list_market`` plus the market's mock oracle.

    Prices are price units (collateral units per whole base unit), sizes size units, and
    fractions parts per million, as the contract takes them.
    """

    symbol: str
    oracle_description: str
    index_price: Price
    """The price the mock oracle starts at."""
    tick_size: Price
    lot_size: Size
    max_leverage: int
    initial_margin_ppm: int
    maintenance_margin_ppm: int
    maker_fee_ppm: int
    taker_fee_ppm: int
    oracle_decimals: int = ORACLE_DECIMALS

    def __post_init__(self) -> None:
        # The contract's listing rule, checked early so a bad spec fails before any deployment.
        if self.tick_size * self.lot_size % units().size_scale:
            raise ValueError(f"{self.symbol}: lot_size * tick_size is not a multiple of SIZE_SCALE")
        if self.oracle_decimals < units().price_decimals:
            raise ValueError(f"{self.symbol}: oracle has fewer decimals than prices")

    @property
    def oracle_answer(self) -> int:
        """``index_price`` at the oracle's decimals (exact: the oracle has more decimals)."""
        scale: int = 10 ** (self.oracle_decimals - units().price_decimals)
        return self.index_price * scale


@cache
def default_markets() -> tuple[MarketSpec, ...]:
    """The demo markets: BTC-PERP and ETH-PERP, 20x, 5% initial / 3% maintenance margin,
    2 bp maker / 5 bp taker fees."""
    btc = MarketSpec(
        symbol="BTC-PERP",
        oracle_description="BTC / USD",
        index_price=to_price_units("100000"),
        tick_size=to_price_units("0.1"),
        lot_size=to_size_units("0.0001"),
        max_leverage=20,
        initial_margin_ppm=50_000,
        maintenance_margin_ppm=30_000,
        maker_fee_ppm=200,
        taker_fee_ppm=500,
    )
    eth = replace(
        btc,
        symbol="ETH-PERP",
        oracle_description="ETH / USD",
        index_price=to_price_units("3000"),
        tick_size=to_price_units("0.01"),
        lot_size=to_size_units("0.01"),
    )
    return (btc, eth)
