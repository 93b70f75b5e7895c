"""Two-step withdrawal: ``request_withdrawal``, then ``execute_withdrawal`` after the delay.

Only free collateral leaves, only to its owner, and never before fills the engine already
matched could settle.
"""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, events


def request(venue: Venue, who: Actor, amount: int) -> list[object]:
    with boa.env.prank(who.address):
        venue.exchange.request_withdrawal(amount)
    return list(venue.exchange.get_logs())


def execute(venue: Venue, who: Actor) -> list[object]:
    with boa.env.prank(who.address):
        venue.exchange.execute_withdrawal()
    return list(venue.exchange.get_logs())


def wait_for_delay(venue: Venue) -> None:
    boa.env.time_travel(seconds=venue.exchange.withdrawal_delay())


def test_withdrawal_after_the_delay_returns_free_collateral(venue: Venue, trader: Actor) -> None:
    venue.fund(trader, 300 * USDC)
    (requested,) = events(request(venue, trader, 120 * USDC), "WithdrawalRequested")
    delay = venue.exchange.withdrawal_delay()
    assert (requested.amount, requested.ready_at) == (
        120 * USDC,
        boa.env.evm.patch.timestamp + delay,
    )
    wait_for_delay(venue)
    (withdrawn,) = events(execute(venue, trader), "Withdrawn")
    assert (withdrawn.trader, withdrawn.amount) == (trader.address, 120 * USDC)
    assert venue.collateral(trader) == 180 * USDC
    assert venue.usdc.balanceOf(trader.address) == 120 * USDC


def test_withdrawal_before_the_delay_reverts(venue: Venue, trader: Actor) -> None:
    venue.fund(trader, 300 * USDC)
    request(venue, trader, 100 * USDC)
    boa.env.time_travel(seconds=venue.exchange.withdrawal_delay() - 1)
    with boa.env.prank(trader.address), boa.reverts("exchange: withdrawal not ready"):
        venue.exchange.execute_withdrawal()


def test_fills_matched_during_the_delay_settle_and_count(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    request(venue, trader, 1_000 * USDC)
    lots = 1_000 * BTC.lot_size  # 10,000 USDC of notional: 500 USDC of initial margin
    venue.open_long(trader, maker, lots)
    wait_for_delay(venue)
    # the margin check runs at execution, against the position opened meanwhile
    with boa.env.prank(trader.address), boa.reverts("exchange: withdrawal exceeds free collateral"):
        venue.exchange.execute_withdrawal()


def test_withdrawal_beyond_free_collateral_reverts(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    lots = 1_000 * BTC.lot_size
    venue.open_long(trader, maker, lots)
    health = venue.exchange.cross_health(trader.address)
    free = health.equity - health.initial
    request(venue, trader, free + 1)
    wait_for_delay(venue)
    with boa.env.prank(trader.address), boa.reverts("exchange: withdrawal exceeds free collateral"):
        venue.exchange.execute_withdrawal()
    request(venue, trader, free)
    wait_for_delay(venue)
    execute(venue, trader)
    after = venue.exchange.cross_health(trader.address)
    assert after.equity == after.initial


def test_new_request_replaces_and_cancel_drops(venue: Venue, trader: Actor) -> None:
    venue.fund(trader, 300 * USDC)
    request(venue, trader, 100 * USDC)
    request(venue, trader, 50 * USDC)
    wait_for_delay(venue)
    execute(venue, trader)
    assert venue.collateral(trader) == 250 * USDC
    request(venue, trader, 10 * USDC)
    with boa.env.prank(trader.address):
        venue.exchange.cancel_withdrawal()
        assert events(list(venue.exchange.get_logs()), "WithdrawalCancelled")
        wait_for_delay(venue)
        with boa.reverts("exchange: no withdrawal requested"):
            venue.exchange.execute_withdrawal()


def test_operator_and_admin_cannot_withdraw_traders_funds(venue: Venue, trader: Actor) -> None:
    venue.fund(trader, 300 * USDC)
    request(venue, trader, 300 * USDC)
    wait_for_delay(venue)
    for key in (venue.operator, venue.admin):
        with boa.env.prank(key.address), boa.reverts("exchange: no withdrawal requested"):
            venue.exchange.execute_withdrawal()
    assert venue.usdc.balanceOf(venue.exchange.address) == 300 * USDC


@pytest.mark.parametrize("delay", [59, 86_401])
def test_withdrawal_delay_is_bounded_and_admin_only(
    venue: Venue, outsider: Actor, delay: int
) -> None:
    with boa.env.prank(outsider.address), boa.reverts("exchange: caller is not the admin"):
        venue.exchange.set_withdrawal_delay(600)
    with boa.env.prank(venue.admin.address):
        with boa.reverts("exchange: delay out of bounds"):
            venue.exchange.set_withdrawal_delay(delay)
        venue.exchange.set_withdrawal_delay(600)
    assert venue.exchange.withdrawal_delay() == 600
