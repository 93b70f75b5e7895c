"""``post_funding``: the keeper's capped rate moves the cumulative index once per interval."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import BTC, Actor, Venue, events

from perpdex.core.types import MarketId


def post(venue: Venue, rate: int, market: int = 0) -> list[object]:
    with boa.env.prank(venue.keeper.address):
        venue.markets.post_funding(market, rate)
    return list(venue.markets.get_logs())


def next_interval(venue: Venue) -> None:
    boa.env.time_travel(seconds=venue.markets.funding(0).interval)
    venue.set_price(MarketId(0), BTC.index_price)  # the feed's heartbeat


def test_rate_times_price_moves_the_index(venue: Venue) -> None:
    scale = venue.markets.FUNDING_RATE_SCALE()
    next_interval(venue)
    (posted,) = events(post(venue, 100_000), "FundingPosted")  # 0.01%
    assert posted.index == 100_000 * BTC.index_price // scale
    assert venue.markets.funding(0).index == posted.index
    assert venue.markets.risk(0).funding_index == posted.index


def test_rate_is_clamped_to_the_cap(venue: Venue) -> None:
    cap = venue.markets.funding(0).rate_cap
    scale = venue.markets.FUNDING_RATE_SCALE()
    next_interval(venue)
    (posted,) = events(post(venue, -10 * cap), "FundingPosted")
    assert (posted.requested_rate, posted.rate) == (-10 * cap, -cap)
    # truncated toward zero, as both sides see it
    assert posted.index == -(cap * BTC.index_price // scale)


def test_once_per_interval(venue: Venue) -> None:
    next_interval(venue)
    post(venue, 1)
    with boa.reverts("markets: funding interval not over"):
        post(venue, 1)
    next_interval(venue)
    post(venue, 1)


def test_only_the_funding_keeper_posts(venue: Venue, outsider: Actor) -> None:
    next_interval(venue)
    with boa.env.prank(outsider.address), boa.reverts("markets: caller is not the funding keeper"):
        venue.markets.post_funding(0, 1)


def test_stale_price_stops_funding(venue: Venue) -> None:
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    with boa.reverts("markets: stale price"):
        post(venue, 1)


@pytest.mark.parametrize(
    ("interval", "cap", "error"),
    [
        (59, 1, "markets: interval out of bounds"),
        (28_801, 1, "markets: interval out of bounds"),
        (3_600, 10**7 + 1, "markets: rate cap too high"),
        # 0.07% a minute is 4.2% an hour
        (60, 700_000, "markets: rate cap too high"),
    ],
)
def test_funding_params_are_bounded(venue: Venue, interval: int, cap: int, error: str) -> None:
    with boa.env.prank(venue.admin.address), boa.reverts(error):
        venue.markets.set_funding_params(0, interval, cap)


@pytest.mark.parametrize(
    ("fraction", "penalty", "share", "error"),
    [
        (249_999, 10_000, 500_000, "markets: fraction out of bounds"),
        (400_001, 10_000, 500_000, "markets: fraction out of bounds"),
        (300_000, 15_001, 500_000, "markets: penalty out of bounds"),  # half maintenance
        (300_000, 10_000, 99_999, "markets: share out of bounds"),
        (300_000, 10_000, 900_001, "markets: share out of bounds"),
    ],
)
def test_liquidation_params_are_bounded(
    venue: Venue, fraction: int, penalty: int, share: int, error: str
) -> None:
    with boa.env.prank(venue.admin.address), boa.reverts(error):
        venue.markets.set_liquidation_params(0, fraction, penalty, share, 0)


def test_listing_defaults_to_thirty_percent_steps(venue: Venue) -> None:
    terms = venue.markets.liquidation(0)
    assert terms.fraction_ppm == 300_000
    assert terms.penalty_ppm == BTC.maintenance_margin_ppm // 2
