"""Hedge orders: close the whole position, limit at the slippage band, on the tick grid."""

from __future__ import annotations

from perpdex.core.types import Collateral, MarketId, Price, Side, Size
from perpdex.keeper.accounts import PositionView
from perpdex.keeper.hedge import HedgeOrder, hedge_order

BTC = MarketId(0)


def held(size: int) -> PositionView:
    return PositionView(BTC, Size(size), Collateral(0), False, Collateral(0), None)


def test_a_long_sells_down_to_the_band_rounded_away_from_the_index() -> None:
    order = hedge_order(held(5), Price(100_000_000), Price(70), slippage_ppm=5_000)
    # 99,500,000 rounded down to the tick of 70 (99,499,960 = 1,421,428 ticks)
    assert order == HedgeOrder(BTC, Side.SELL, Size(5), Price(99_499_960))


def test_a_short_buys_up_to_the_band() -> None:
    order = hedge_order(held(-5), Price(100_000_000), Price(70), slippage_ppm=5_000)
    assert order == HedgeOrder(BTC, Side.BUY, Size(5), Price(100_500_050))
