"""The positions the liquidation tests start from: a long on thin collateral against a
well-funded maker, with a liquidator standing by, and the prices that hurt it."""

from __future__ import annotations

from typing import Any

from tests.unitary.exchange.venue import USDC, Actor, Venue

from perpdex.core.types import MarketId, Price

TENTH_BTC = 10_000_000  # size units
CRASH = Price(96_500 * USDC)  # 0.1 BTC long on 600 USDC is below maintenance here
GAP = Price(90_000 * USDC)  # ... and 405 USDC under water here


def open_thin_long(
    venue: Venue,
    trader: Actor,
    maker: Actor,
    liquidator: Actor,
    *,
    collateral: int = 600 * USDC,
    size: int = TENTH_BTC,
    liquidator_collateral: int = 100_000 * USDC,
    **terms: Any,
) -> None:
    """``trader`` buys ``size`` of BTC-PERP on ``collateral`` from ``maker``; ``terms`` go
    to the trader's order (e.g. ``margin_mode``)."""
    venue.fund(trader, collateral)
    venue.fund(maker, 100_000 * USDC)
    venue.fund(liquidator, liquidator_collateral)
    venue.open_long(trader, maker, size, **terms)


def crash(venue: Venue, price: Price) -> None:
    venue.set_price(MarketId(0), price)
