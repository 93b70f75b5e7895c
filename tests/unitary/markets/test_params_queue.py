"""The queue of parameter changes: cancel, lapse, changes that add up, apply by anyone."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import BTC, Actor, Venue, events


def queue_fee_change(venue: Venue, taker_fee_ppm: int = 600) -> None:
    with boa.env.prank(venue.admin.address):
        venue.markets.set_market_params(0, 20, 50_000, 30_000, 200, taker_fee_ppm)


def test_a_cancelled_change_never_applies(venue: Venue) -> None:
    queue_fee_change(venue)
    with boa.env.prank(venue.admin.address):
        venue.markets.cancel_params(0)
    (cancelled,) = events(list(venue.markets.get_logs()), "ParamsCancelled")
    assert (cancelled.market, cancelled.config.taker_fee_ppm) == (0, 600)
    assert venue.markets.pending_at(0) == 0
    boa.env.time_travel(seconds=venue.markets.PARAMS_DELAY())
    with boa.reverts("markets: no change queued"):
        venue.markets.apply_params(0)
    assert venue.markets.market_params(0).taker_fee_ppm == BTC.taker_fee_ppm


def test_only_the_admin_cancels(venue: Venue, outsider: Actor) -> None:
    queue_fee_change(venue)
    with boa.env.prank(outsider.address), boa.reverts("markets: caller is not the admin"):
        venue.markets.cancel_params(0)
    with boa.env.prank(venue.admin.address), boa.reverts("markets: no change queued"):
        venue.markets.cancel_params(1)


def test_a_lapsed_change_cannot_be_applied_late(venue: Venue) -> None:
    queue_fee_change(venue)
    boa.env.time_travel(seconds=venue.markets.PARAMS_DELAY() + venue.markets.PARAMS_GRACE() + 1)
    with boa.reverts("markets: change lapsed"):
        venue.markets.apply_params(0)
    # a new change starts from the parameters in effect, not from the lapsed one
    with boa.env.prank(venue.admin.address):
        venue.markets.set_funding_params(0, 1_800, 1_000)
    assert venue.markets.pending_params(0).taker_fee_ppm == BTC.taker_fee_ppm


def test_changes_of_several_setters_add_up_and_restart_the_delay(venue: Venue) -> None:
    queue_fee_change(venue)
    first = venue.markets.pending_at(0)
    boa.env.time_travel(seconds=3_600)
    with boa.env.prank(venue.admin.address):
        venue.markets.set_liquidation_params(0, 400_000, 10_000, 600_000, 0)
    # the later announcement restarts the wait for the whole change
    assert venue.markets.pending_at(0) == first + 3_600
    pending = venue.markets.pending_params(0)
    assert (pending.taker_fee_ppm, pending.penalty_ppm) == (600, 10_000)
    applied = venue.apply_params(0)
    assert venue.markets.market_params(0).taker_fee_ppm == 600
    assert venue.markets.liquidation(0).penalty_ppm == 10_000
    assert [type(e).__name__ for e in applied] == [
        "MarketParamsChanged",
        "OracleLimitsChanged",
        "FundingParamsChanged",
        "LiquidationParamsChanged",
    ]
    assert venue.markets.pending_at(0) == 0


def test_a_penalty_is_checked_against_the_queued_maintenance(venue: Venue) -> None:
    with boa.env.prank(venue.admin.address):
        with boa.reverts("markets: penalty out of bounds"):  # today's 1.5% is above half of 2%
            venue.markets.set_market_params(0, 20, 50_000, 20_000, 200, 500)
        venue.markets.set_liquidation_params(0, 300_000, 10_000, 500_000, 0)
        venue.markets.set_market_params(0, 20, 50_000, 20_000, 200, 500)
        with boa.reverts("markets: penalty out of bounds"):  # against the queued 2%
            venue.markets.set_liquidation_params(0, 300_000, 15_000, 500_000, 0)


def test_anyone_applies_a_due_change(venue: Venue, outsider: Actor) -> None:
    with boa.reverts("markets: no change queued"):
        venue.markets.apply_params(0)
    queue_fee_change(venue)
    boa.env.time_travel(seconds=venue.markets.PARAMS_DELAY())
    with boa.env.prank(outsider.address):
        venue.markets.apply_params(0)
    assert venue.markets.market_params(0).taker_fee_ppm == 600
