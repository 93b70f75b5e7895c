"""``withdraw``: only free collateral leaves, and only to its owner."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, events, match


def test_withdraw_returns_free_collateral(venue: Venue, trader: Actor) -> None:
    venue.fund(trader, 300 * USDC)
    with boa.env.prank(trader.address):
        venue.exchange.withdraw(120 * USDC)
        (withdrawn,) = events(list(venue.exchange.get_logs()), "Withdrawn")
    assert (withdrawn.trader, withdrawn.amount) == (trader.address, 120 * USDC)
    assert venue.collateral(trader) == 180 * USDC
    assert venue.usdc.balanceOf(trader.address) == 120 * USDC


def test_withdraw_beyond_balance_reverts(venue: Venue, trader: Actor) -> None:
    venue.fund(trader, 300 * USDC)
    with boa.env.prank(trader.address), boa.reverts("exchange: withdrawal exceeds free collateral"):
        venue.exchange.withdraw(300 * USDC + 1)
    assert venue.collateral(trader) == 300 * USDC


def test_withdraw_beyond_free_collateral_reverts(venue: Venue, maker: Actor, trader: Actor) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    lots = 1_000 * BTC.lot_size  # 10,000 USDC of notional needs 500 USDC of initial margin
    venue.settle(
        match(
            venue.order(maker, is_buy=False, size=lots, price=BTC.index_price),
            venue.order(trader, is_buy=True, size=lots, price=BTC.index_price),
        )
    )
    health = venue.exchange.cross_health(trader.address)
    free = health.equity - health.initial
    with boa.env.prank(trader.address):
        with boa.reverts("exchange: withdrawal exceeds free collateral"):
            venue.exchange.withdraw(free + 1)
        venue.exchange.withdraw(free)
    after = venue.exchange.cross_health(trader.address)
    assert after.equity == after.initial


def test_operator_cannot_withdraw_traders_funds(venue: Venue, trader: Actor) -> None:
    venue.fund(trader, 300 * USDC)
    with (
        boa.env.prank(venue.operator.address),
        boa.reverts("exchange: withdrawal exceeds free collateral"),
    ):
        venue.exchange.withdraw(1)
    with (
        boa.env.prank(venue.admin.address),
        boa.reverts("exchange: withdrawal exceeds free collateral"),
    ):
        venue.exchange.withdraw(1)
    assert venue.usdc.balanceOf(venue.exchange.address) == 300 * USDC
