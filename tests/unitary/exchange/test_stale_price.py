"""A stale price stops risk-increasing actions only; valuation falls back to the last good
price."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.test_settle_margin import margin_error
from tests.unitary.exchange.venue import BTC, ETH, USDC, Actor, Venue, match

from perpdex.core.types import MarginMode, MarketId, Price

TENTH_BTC = 10_000_000
ETH_LOTS = 100 * ETH.lot_size  # 1 ETH
ETH_MARKET = MarketId(1)


@pytest.fixture
def stale(venue: Venue, trader: Actor, maker: Actor) -> Venue:
    """``trader`` is long 0.1 BTC against ``maker``; then the BTC feed stops updating."""
    venue.fund(trader, 10_000 * USDC)
    venue.fund(maker, 10_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC)
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    assert venue.markets.price(0) == (BTC.index_price, False)
    return venue


def test_opening_more_is_refused(stale: Venue, trader: Actor, maker: Actor) -> None:
    # both sides would grow; the first account checked fails the batch
    with margin_error(maker):
        stale.open_long(trader, maker, TENTH_BTC)


def test_closing_goes_through(stale: Venue, trader: Actor, maker: Actor) -> None:
    bid = stale.order(maker, is_buy=True, size=TENTH_BTC, price=BTC.index_price)
    ask = stale.order(trader, is_buy=False, size=TENTH_BTC, price=BTC.index_price)
    stale.settle(match(bid, ask))
    assert stale.position(trader)[0] == 0
    assert stale.position(maker)[0] == 0


def test_withdrawal_waits_while_a_cross_position_is_at_a_stale_price(
    stale: Venue, trader: Actor, maker: Actor
) -> None:
    """The last good price may hide a loss the trader can see elsewhere: no collateral
    leaves until the stale position is closed (or the feed comes back)."""
    with boa.env.prank(trader.address):
        stale.exchange.request_withdrawal(5_000 * USDC)
        boa.env.time_travel(seconds=stale.exchange.withdrawal_delay())
        with boa.reverts("exchange: stale price"):
            stale.exchange.execute_withdrawal()
    bid = stale.order(maker, is_buy=True, size=TENTH_BTC, price=BTC.index_price)
    ask = stale.order(trader, is_buy=False, size=TENTH_BTC, price=BTC.index_price)
    stale.settle(match(bid, ask))
    with boa.env.prank(trader.address):
        stale.exchange.execute_withdrawal()
    assert stale.usdc.balanceOf(trader.address) == 5_000 * USDC


def test_cross_margin_cannot_move_to_isolated_while_a_cross_position_is_stale(
    venue: Venue, trader: Actor, maker: Actor
) -> None:
    """Moving cross collateral into an isolated position takes it out of the cross scope
    like a withdrawal (it could then be lost there on purpose)."""
    venue.fund(trader, 10_000 * USDC)
    venue.fund(maker, 10_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC)
    ask = venue.order(maker, is_buy=False, size=ETH_LOTS, price=ETH.index_price, market=1)
    bid = venue.order(
        trader, is_buy=True, size=ETH_LOTS, price=ETH.index_price, market=1,
        margin_mode=MarginMode.ISOLATED,
    )  # fmt: skip
    venue.settle(match(ask, bid))
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    venue.set_price(ETH_MARKET, Price(ETH.index_price))  # BTC stale, ETH fresh
    with boa.env.prank(trader.address), boa.reverts("exchange: stale price"):
        venue.exchange.add_isolated_margin(ETH_MARKET, 100 * USDC)
    venue.set_price(MarketId(0), Price(BTC.index_price))
    with boa.env.prank(trader.address):
        venue.exchange.add_isolated_margin(ETH_MARKET, 100 * USDC)


def test_stale_market_cannot_back_new_risk_elsewhere(
    stale: Venue, trader: Actor, outsider: Actor
) -> None:
    """Regression: a trader whose BTC long sits at the stale last good price opened an ETH
    long. The batch never touches BTC, yet the account may only reduce risk (the
    counterparty, with no stale position, may open)."""
    stale.set_price(ETH_MARKET, Price(ETH.index_price))
    stale.fund(outsider, 10_000 * USDC)
    ask = stale.order(outsider, is_buy=False, size=ETH_LOTS, price=ETH.index_price, market=1)
    bid = stale.order(trader, is_buy=True, size=ETH_LOTS, price=ETH.index_price, market=1)
    with margin_error(trader):
        stale.settle(match(ask, bid))


def test_risk_elsewhere_can_still_shrink_while_a_market_is_stale(
    venue: Venue, trader: Actor, maker: Actor
) -> None:
    venue.fund(trader, 10_000 * USDC)
    venue.fund(maker, 10_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC)
    ask = venue.order(maker, is_buy=False, size=ETH_LOTS, price=ETH.index_price, market=1)
    bid = venue.order(trader, is_buy=True, size=ETH_LOTS, price=ETH.index_price, market=1)
    venue.settle(match(ask, bid))
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    venue.set_price(ETH_MARKET, Price(ETH.index_price))  # BTC stale, ETH fresh
    bid = venue.order(maker, is_buy=True, size=ETH_LOTS // 2, price=ETH.index_price, market=1)
    ask = venue.order(trader, is_buy=False, size=ETH_LOTS // 2, price=ETH.index_price, market=1)
    venue.settle(match(bid, ask))
    assert venue.position(trader, 1)[0] == ETH_LOTS // 2


def test_isolated_margin_cannot_be_taken_out(venue: Venue, trader: Actor, maker: Actor) -> None:
    venue.fund(trader, 10_000 * USDC)
    venue.fund(maker, 10_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC, margin_mode=MarginMode.ISOLATED)
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    with boa.env.prank(trader.address), boa.reverts("exchange: stale price"):
        venue.exchange.remove_isolated_margin(0, 1)
