"""``deposit``: only the collateral token, pulled by the vault itself, is credited."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import MOCK_USDC, USDC, Actor, Venue, events


def test_deposit_credits_cross_collateral(venue: Venue, trader: Actor) -> None:
    logs = venue.fund(trader, 250 * USDC)
    assert tuple(venue.exchange.account(trader.address)) == (250 * USDC, 0, 0)
    assert venue.usdc.balanceOf(venue.exchange.address) == 250 * USDC
    (deposited,) = events(logs, "Deposited")
    assert (deposited.trader, deposited.amount) == (trader.address, 250 * USDC)


def test_deposit_without_allowance_reverts(venue: Venue, trader: Actor) -> None:
    venue.usdc.faucet(trader.address, 10 * USDC)
    with boa.env.prank(trader.address), boa.reverts():
        venue.exchange.deposit(10 * USDC)
    assert venue.collateral(trader) == 0


def test_zero_deposit_reverts(venue: Venue, trader: Actor) -> None:
    with boa.env.prank(trader.address), boa.reverts("exchange: zero amount"):
        venue.exchange.deposit(0)


def test_wrong_token_sent_to_vault_credits_nobody(venue: Venue, trader: Actor) -> None:
    with boa.env.prank(trader.address):
        fake = MOCK_USDC.deploy()
        fake.faucet(trader.address, 100 * USDC)
        fake.transfer(venue.exchange.address, 100 * USDC)
        fake.approve(venue.exchange.address, 100 * USDC)
        # deposit pulls the configured token, which the trader does not have
        with boa.reverts():
            venue.exchange.deposit(100 * USDC)
    assert venue.collateral(trader) == 0


def test_deposit_for_credits_the_named_trader(venue: Venue, trader: Actor, outsider: Actor) -> None:
    venue.usdc.faucet(outsider.address, 40 * USDC)
    with boa.env.prank(outsider.address):
        venue.usdc.approve(venue.exchange.address, 40 * USDC)
        venue.exchange.deposit_for(trader.address, 40 * USDC)
    assert venue.collateral(trader) == 40 * USDC
    assert venue.collateral(outsider) == 0
