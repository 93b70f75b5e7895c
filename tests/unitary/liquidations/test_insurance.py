"""The insurance fund: funded by anyone and by penalties, drawn for realised bad debt."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import USDC, Actor, Venue, events


def fund_insurance(venue: Venue, funder: Actor, amount: int) -> list[object]:
    venue.usdc.faucet(funder.address, amount)
    with boa.env.prank(funder.address):
        venue.usdc.approve(venue.exchange.address, amount)
        venue.exchange.fund_insurance(amount)
    return venue.logs()


def test_anyone_funds_the_insurance_fund(venue: Venue, outsider: Actor) -> None:
    (event,) = events(fund_insurance(venue, outsider, 1_000 * USDC), "InsuranceFunded")
    assert (event.funder, event.amount) == (outsider.address, 1_000 * USDC)
    assert venue.exchange.insurance_fund() == 1_000 * USDC
    assert venue.usdc.balanceOf(venue.exchange.address) == 1_000 * USDC


def test_bad_debt_is_drawn_from_the_fund(
    bankrupt: Venue, trader: Actor, liquidator: Actor, outsider: Actor
) -> None:
    fund_insurance(bankrupt, outsider, 1_000 * USDC)
    logs = bankrupt.liquidate(liquidator, trader)
    (liquidated,) = events(logs, "Liquidated")
    (drawn,) = events(logs, "InsuranceDrawn")
    assert (liquidated.full, liquidated.penalty, liquidated.reward) == (True, 0, 0)
    assert (drawn.trader, drawn.amount) == (trader.address, 405 * USDC)
    assert bankrupt.exchange.insurance_fund() == 595 * USDC
    assert bankrupt.collateral(trader) == 0
    assert bankrupt.position(trader)[:2] == (0, 0)


def test_a_fund_too_small_sends_the_loss_to_deleveraging(
    bankrupt: Venue, trader: Actor, liquidator: Actor, outsider: Actor
) -> None:
    fund_insurance(bankrupt, outsider, 100 * USDC)
    with boa.reverts("exchange: insurance fund short, deleverage"):
        bankrupt.liquidate(liquidator, trader)
