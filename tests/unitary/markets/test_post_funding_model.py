"""``Markets.post_funding`` against the reference model (``perpdex.core.funding.post``).

Random caps, rates (inside and beyond the cap, both signs) and index prices, one interval
apart: the applied rate, the ``FundingPosted`` event and the stored index must equal the
model's clamp and truncated step to the unit; a post inside the interval is refused.
"""

from __future__ import annotations

import boa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.unitary.exchange.venue import Venue, events

from perpdex.core import funding
from perpdex.core.funding import FundingRate
from perpdex.core.margin import FundingIndex, OutOfRangeError
from perpdex.core.types import MarketId, Price

MAX_CAP = 10**7  # Markets.MAX_FUNDING_RATE_CAP

posts = st.lists(
    st.tuples(
        st.integers(-2 * MAX_CAP, 2 * MAX_CAP),  # requested rate
        st.integers(1, 10**12),  # index price, price units (up to a million per unit)
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(market=st.sampled_from([MarketId(0), MarketId(1)]), cap=st.integers(0, MAX_CAP), posts=posts)
@example(market=MarketId(0), cap=MAX_CAP, posts=[(-1, 999_999_999)])  # -0.999.. truncates to 0
@example(market=MarketId(0), cap=5, posts=[(-7, 3 * 10**8 + 1)])  # clamped to -5, then -1.5 -> -1
def test_post_funding_matches_model(
    venue: Venue, market: MarketId, cap: int, posts: list[tuple[int, int]]
) -> None:
    markets = venue.markets
    with boa.env.anchor():
        interval = markets.funding(market).interval
        with boa.env.prank(venue.admin.address):
            markets.set_funding_params(market, interval, cap)
        venue.apply_params(market)
        index = FundingIndex(markets.funding(market).index)
        for rate, price in posts:
            boa.env.time_travel(seconds=interval)
            venue.set_price(market, Price(price))
            expected = funding.post(index, FundingRate(rate), FundingRate(cap), Price(price))
            with boa.env.prank(venue.keeper.address):
                markets.post_funding(market, rate)
            (posted,) = events(list(markets.get_logs()), "FundingPosted")
            assert (posted.requested_rate, posted.rate, posted.price) == (
                rate,
                expected.rate,
                price,
            )
            assert posted.index == expected.index == markets.funding(market).index
            assert markets.funding(market).last_posted == boa.env.evm.patch.timestamp
            index = expected.index
        with boa.env.prank(venue.keeper.address), boa.reverts("markets: funding interval not over"):
            markets.post_funding(market, 0)


def test_index_step_truncates_toward_zero_both_ways() -> None:
    scale = funding.bounds().rate_scale
    assert funding.index_step(FundingRate(1), Price(scale - 1)) == 0
    assert funding.index_step(FundingRate(-1), Price(scale - 1)) == 0  # floor would give -1
    assert funding.index_step(FundingRate(-3), Price(scale // 2)) == -1  # -1.5


def test_post_refuses_an_index_beyond_its_snapshot_field() -> None:
    top = FundingIndex(funding.bounds().max_index)
    assert funding.post(top, FundingRate(0), FundingRate(10), Price(1)).index == top
    with pytest.raises(OutOfRangeError):
        funding.post(top, FundingRate(10**7), FundingRate(10**7), Price(10**9))
