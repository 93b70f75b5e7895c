"""A stale price stops risk-increasing actions only; valuation falls back to the last good
price."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.test_settle_margin import margin_error
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, match

from perpdex.core.types import MarginMode

TENTH_BTC = 10_000_000


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


def test_free_collateral_can_still_be_withdrawn(stale: Venue, trader: Actor) -> None:
    with boa.env.prank(trader.address):
        stale.exchange.request_withdrawal(5_000 * USDC)
        boa.env.time_travel(seconds=stale.exchange.withdrawal_delay())
        stale.exchange.execute_withdrawal()
    assert stale.usdc.balanceOf(trader.address) == 5_000 * USDC


def test_isolated_margin_cannot_be_taken_out(venue: Venue, trader: Actor, maker: Actor) -> None:
    venue.fund(trader, 10_000 * USDC)
    venue.fund(maker, 10_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC, margin_mode=MarginMode.ISOLATED)
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    with boa.env.prank(trader.address), boa.reverts("exchange: stale price"):
        venue.exchange.remove_isolated_margin(0, 1)
