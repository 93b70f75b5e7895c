"""``liquidate``: tiered steps, penalty split, the liquidator's side, refusals."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import LIQUIDATIONS, USDC, Actor, Venue, events
from tests.unitary.liquidations.crash import CRASH, TENTH_BTC, crash, open_thin_long

from perpdex.core.types import MarginMode, MarketId, Price


@pytest.fixture
def long_at_risk(venue: Venue, trader: Actor, maker: Actor, liquidator: Actor) -> Venue:
    """``trader`` holds 0.1 BTC long on 600 USDC; the price then falls to ``CRASH``."""
    open_thin_long(venue, trader, maker, liquidator)
    crash(venue, CRASH)
    return venue


def liquidation_terms(venue: Venue) -> tuple[int, int, int, int]:
    terms = venue.markets.liquidation(0)
    return (
        terms.fraction_ppm,
        terms.penalty_ppm,
        terms.liquidator_share_ppm,
        terms.min_partial_notional,
    )


def test_first_step_closes_the_configured_fraction(
    long_at_risk: Venue, trader: Actor, liquidator: Actor
) -> None:
    venue = long_at_risk
    fraction, penalty_ppm, share, _ = liquidation_terms(venue)
    lot = venue.markets.market_params(0).lot_size
    step = -(-TENTH_BTC * fraction // (10**6 * lot)) * lot  # rounded up to the lot
    (event,) = events(venue.liquidate(liquidator, trader), "Liquidated")
    assert (event.size, event.price, event.full) == (-step, CRASH, False)
    cash = step * CRASH // 10**8
    assert event.penalty == -(-cash * penalty_ppm // 10**6)
    assert event.reward == event.penalty * share // 10**6
    assert venue.exchange.insurance_fund() == event.penalty - event.reward
    assert venue.position(trader)[0] == TENTH_BTC - step
    # the liquidator takes the part at the index price less its share of the penalty
    size, quote, isolated, _ = venue.position(liquidator)
    assert (size, quote, isolated) == (step, event.reward - cash, False)
    assert venue.collateral(liquidator) == 100_000 * USDC


def test_steps_continue_only_while_below_maintenance(
    long_at_risk: Venue, trader: Actor, liquidator: Actor
) -> None:
    venue = long_at_risk
    venue.liquidate(liquidator, trader)
    health = venue.exchange.cross_health(trader.address)
    assert health.equity < health.maintenance  # one step was not enough here
    venue.liquidate(liquidator, trader)
    health = venue.exchange.cross_health(trader.address)
    assert health.equity >= health.maintenance
    with boa.reverts("exchange: account above maintenance"):
        venue.liquidate(liquidator, trader)


def test_healthy_account_cannot_be_liquidated(
    venue: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    open_thin_long(venue, trader, maker, liquidator)
    with boa.reverts("exchange: account above maintenance"):
        venue.liquidate(liquidator, trader)


def test_full_closure_when_partial_steps_cannot_restore(
    long_at_risk: Venue, trader: Actor, liquidator: Actor
) -> None:
    # equity below the penalty on the whole position: each partial step would lower the
    # margin ratio, so the position is closed at once
    venue = long_at_risk
    venue.set_price(MarketId(0), Price(94_600 * USDC))
    health = venue.exchange.cross_health(trader.address)
    _, penalty_ppm, _, _ = liquidation_terms(venue)
    assert health.equity <= TENTH_BTC * 94_600 * USDC // 10**8 * penalty_ppm // 10**6
    (event,) = events(venue.liquidate(liquidator, trader), "Liquidated")
    assert (event.size, event.full) == (-TENTH_BTC, True)
    assert event.penalty == health.equity  # capped: the trader is left with nothing
    assert venue.position(trader)[:2] == (0, 0)
    assert venue.collateral(trader) == 0


def test_tiny_position_is_closed_whole(
    venue: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    # 100 USDC notional
    open_thin_long(venue, trader, maker, liquidator, collateral=6 * USDC, size=TENTH_BTC // 100)
    crash(venue, CRASH)
    assert venue.markets.liquidation(0).min_partial_notional > TENTH_BTC // 100 * 965 // 10**3
    (event,) = events(venue.liquidate(liquidator, trader), "Liquidated")
    assert event.full


def test_isolated_position_is_liquidated_against_its_own_margin(
    venue: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    # plenty of cross collateral, which must not count
    open_thin_long(
        venue, trader, maker, liquidator, collateral=10_000 * USDC, margin_mode=MarginMode.ISOLATED
    )
    crash(venue, CRASH)
    cross_before = venue.collateral(trader)
    (event,) = events(venue.liquidate(liquidator, trader), "Liquidated")
    assert not event.full
    assert venue.collateral(trader) == cross_before


def test_liquidator_must_stay_above_initial_margin(
    venue: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    open_thin_long(venue, trader, maker, liquidator, liquidator_collateral=10 * USDC)
    crash(venue, CRASH)
    with boa.reverts("exchange: liquidator margin too low"):
        venue.liquidate(liquidator, trader)


def test_no_self_liquidation(long_at_risk: Venue, trader: Actor) -> None:
    with boa.reverts("exchange: self-liquidation"):
        long_at_risk.liquidate(trader, trader)


def test_stale_price_stops_liquidation(
    long_at_risk: Venue, trader: Actor, liquidator: Actor
) -> None:
    boa.env.time_travel(seconds=long_at_risk.markets.oracle_limits(0).max_price_age + 1)
    with boa.reverts("exchange: stale price"):
        long_at_risk.liquidate(liquidator, trader)


def test_no_position_no_liquidation(venue: Venue, trader: Actor, liquidator: Actor) -> None:
    with boa.reverts("exchange: no position"):
        venue.liquidate(liquidator, trader)


def test_extension_refuses_direct_calls(venue: Venue, trader: Actor) -> None:
    # on its own (empty) storage the extension must never run
    extension = LIQUIDATIONS.at(venue.exchange.LIQUIDATIONS())
    with boa.reverts("liquidations: only through the Exchange"):
        extension.liquidate(trader.address, 0)
