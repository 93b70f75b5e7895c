"""Oracle reads: staleness limit, sanity bounds, faulty feeds, the last good price."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import BTC, MOCK_AGGREGATOR, USDC, Actor, Venue, events

from perpdex.core.types import MarketId, Price

ORACLE_UNIT = 10 ** (BTC.oracle_decimals - 6)  # one price unit in the feed's decimals


def test_fresh_price_is_good(venue: Venue) -> None:
    assert venue.markets.price(0) == (BTC.index_price, True)
    risk = venue.markets.risk(0)
    assert (risk.price, risk.fresh, risk.funding_index) == (BTC.index_price, True, 0)


def test_old_price_is_stale_and_the_last_good_one_stands_in(venue: Venue) -> None:
    venue.set_price(MarketId(0), Price(90_000 * USDC))  # never recorded
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    assert venue.markets.price(0) == (BTC.index_price, False)


def test_record_price_keeps_the_last_good_price(venue: Venue, outsider: Actor) -> None:
    venue.set_price(MarketId(0), Price(90_000 * USDC))
    with boa.env.prank(outsider.address):
        assert venue.markets.record_price(0)
    (recorded,) = events(list(venue.markets.get_logs()), "PriceRecorded")
    assert recorded.price == 90_000 * USDC
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    assert venue.markets.price(0) == (90_000 * USDC, False)
    with boa.env.prank(outsider.address):
        assert not venue.markets.record_price(0)


@pytest.mark.parametrize("answer", [0, -1])
def test_non_positive_answer_is_not_good(venue: Venue, answer: int) -> None:
    with boa.env.prank(venue.admin.address):
        venue.oracles[MarketId(0)].set_answer(answer)
    assert venue.markets.price(0) == (BTC.index_price, False)


def test_future_timestamp_is_not_good(venue: Venue) -> None:
    now = boa.env.evm.patch.timestamp
    with boa.env.prank(venue.admin.address):
        venue.oracles[MarketId(0)].set_answer_at(95_000 * USDC * ORACLE_UNIT, now + 60)
    assert venue.markets.price(0) == (BTC.index_price, False)


def test_price_outside_the_sanity_bounds_is_not_good(venue: Venue) -> None:
    with boa.env.prank(venue.admin.address):
        venue.markets.set_oracle_limits(0, 3_600, 50_000 * USDC, 200_000 * USDC)
    venue.apply_params(0)
    venue.set_price(MarketId(0), Price(49_999 * USDC))
    assert venue.markets.price(0) == (BTC.index_price, False)
    venue.set_price(MarketId(0), Price(200_001 * USDC))
    assert venue.markets.price(0) == (BTC.index_price, False)
    venue.set_price(MarketId(0), Price(150_000 * USDC))
    assert venue.markets.price(0) == (150_000 * USDC, True)


def test_a_reverting_feed_reads_as_stale_instead_of_reverting(venue: Venue) -> None:
    # a contract without latestRoundData: the call fails, the registry does not
    with boa.env.prank(venue.admin.address):
        broken = MOCK_AGGREGATOR.deploy(8, "BTC / USD", BTC.oracle_answer)
        index = venue.markets.list_market(
            "BROKEN", broken.address, 1, 10**8, 20, 50_000, 30_000, 0, 0
        )
    venue.markets.eval(f"self._info[{index}].oracle = {venue.usdc.address}")
    assert venue.markets.price(index) == (BTC.index_price, False)


def test_oracle_limits_are_admin_only_and_checked(venue: Venue, outsider: Actor) -> None:
    with boa.env.prank(outsider.address), boa.reverts("markets: caller is not the admin"):
        venue.markets.set_oracle_limits(0, 60, 1, 2)
    with boa.env.prank(venue.admin.address):
        with boa.reverts("markets: bad price bounds"):
            venue.markets.set_oracle_limits(0, 60, 2, 1)
        with boa.reverts("markets: price age out of bounds"):
            venue.markets.set_oracle_limits(0, 59, 1, 2)
        with boa.reverts("markets: price age out of bounds"):
            venue.markets.set_oracle_limits(0, 86_401, 1, 2)
        venue.markets.set_oracle_limits(0, 60, 1, 2)
    (changed,) = events(venue.apply_params(0), "OracleLimitsChanged")
    assert (changed.max_price_age, changed.min_price, changed.max_price) == (60, 1, 2)
