"""``list_market`` and ``set_market_params``: admin-only, validated, announced; a change
queued, in effect only after the delay."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import (
    BTC,
    MOCK_AGGREGATOR,
    Actor,
    Venue,
    events,
    list_market,
    listing_args,
)


def test_listing_stores_and_announces_the_market(venue: Venue) -> None:
    assert venue.markets.market_count() == 2
    info = venue.markets.market_info(0)
    assert (info.symbol, info.oracle, info.max_leverage) == (
        BTC.symbol,
        venue.oracles[0].address,
        BTC.max_leverage,
    )
    params = venue.markets.market_params(0)
    assert (params.tick_size, params.lot_size) == (BTC.tick_size, BTC.lot_size)
    assert (params.initial_margin_ppm, params.maintenance_margin_ppm) == (
        BTC.initial_margin_ppm,
        BTC.maintenance_margin_ppm,
    )
    assert (params.maker_fee_ppm, params.taker_fee_ppm) == (BTC.maker_fee_ppm, BTC.taker_fee_ppm)
    assert venue.markets.price(0) == (BTC.index_price, True)
    assert venue.markets.last_good_price(0) == BTC.index_price


def test_only_admin_lists(venue: Venue, outsider: Actor) -> None:
    with boa.env.prank(outsider.address), boa.reverts("markets: caller is not the admin"):
        list_market(venue.markets, venue.oracles[0], BTC)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"tick_size": 3}, "markets: inexact grid"),
        ({"lot_size": 0}, "markets: bad lot size"),
        ({"initial_margin_ppm": 40_000}, "markets: margin below 1/leverage"),
        ({"maintenance_margin_ppm": 37_501}, "markets: maintenance above 3/4 of initial"),
        ({"max_leverage": 51, "initial_margin_ppm": 20_000}, "markets: leverage out of bounds"),
        ({"taker_fee_ppm": 10_001}, "markets: fee too high"),
    ],
)
def test_listing_rejects_unsound_parameters(
    venue: Venue, change: dict[str, int], error: str
) -> None:
    args = listing_args(BTC, venue.oracles[0]) | change
    with boa.env.prank(venue.admin.address), boa.reverts(error):
        venue.markets.list_market(*args.values())
    assert venue.markets.market_count() == 2


def test_oracle_with_too_few_decimals_is_refused(venue: Venue) -> None:
    with boa.env.prank(venue.admin.address):
        coarse = MOCK_AGGREGATOR.deploy(2, "BTC / USD", 100_000 * 100)
        with boa.reverts("markets: oracle decimals"):
            list_market(venue.markets, coarse, BTC)


def test_set_market_params_changes_risk_and_fees_only_after_the_delay(venue: Venue) -> None:
    with boa.env.prank(venue.admin.address):
        venue.markets.set_market_params(0, 10, 100_000, 50_000, 100, 300)
    (queued,) = events(list(venue.markets.get_logs()), "ParamsQueued")
    delay = venue.markets.PARAMS_DELAY()
    assert (queued.market, queued.effective_at) == (0, boa.env.evm.patch.timestamp + delay)
    assert (queued.config.max_leverage, queued.config.taker_fee_ppm) == (10, 300)
    assert venue.markets.market_params(0).taker_fee_ppm == BTC.taker_fee_ppm  # not yet
    (changed,) = events(venue.apply_params(0), "MarketParamsChanged")
    assert (changed.market, changed.max_leverage, changed.taker_fee_ppm) == (0, 10, 300)
    params = venue.markets.market_params(0)
    assert (params.initial_margin_ppm, params.taker_fee_ppm, params.tick_size) == (
        100_000,
        300,
        BTC.tick_size,
    )
    assert venue.markets.market_info(0).max_leverage == 10
    assert venue.markets.risk(0).params >> 224 == 300


def test_set_market_params_is_admin_only(venue: Venue, outsider: Actor) -> None:
    with boa.env.prank(outsider.address), boa.reverts("markets: caller is not the admin"):
        venue.markets.set_market_params(0, 10, 100_000, 50_000, 100, 300)
