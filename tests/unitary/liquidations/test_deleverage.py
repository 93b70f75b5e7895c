"""``deleverage``: a loss the insurance fund cannot cover goes to a profitable opposite
position, at the bankruptcy price."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import USDC, Actor, Venue, actor, events, match
from tests.unitary.liquidations.crash import GAP, TENTH_BTC


def test_deficit_moves_to_the_counterparty(
    bankrupt: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    maker_equity = bankrupt.exchange.cross_health(maker.address).equity
    (event,) = events(bankrupt.deleverage(liquidator, trader, maker), "Deleveraged")
    assert (event.size, event.price, event.loss) == (-TENTH_BTC, GAP, 405 * USDC)
    assert bankrupt.position(trader)[:2] == (0, 0)
    assert bankrupt.position(maker)[:2] == (0, 0)
    assert bankrupt.collateral(trader) == 0
    assert bankrupt.exchange.cross_health(maker.address).equity == maker_equity - 405 * USDC
    assert bankrupt.exchange.insurance_fund() == 0


def test_not_while_the_fund_can_pay(
    bankrupt: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    bankrupt.usdc.faucet(liquidator.address, 1_000 * USDC)
    with boa.env.prank(liquidator.address):
        bankrupt.usdc.approve(bankrupt.exchange.address, 1_000 * USDC)
        bankrupt.exchange.fund_insurance(1_000 * USDC)
    with boa.reverts("exchange: not bankrupt beyond the fund"):
        bankrupt.deleverage(liquidator, trader, maker)


def test_not_for_a_solvent_account(
    venue: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    venue.fund(trader, 600 * USDC)
    venue.fund(maker, 100_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC)
    with boa.reverts("exchange: not bankrupt beyond the fund"):
        venue.deleverage(liquidator, trader, maker)


def test_counterparty_must_be_opposite(
    bankrupt: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    with boa.reverts("exchange: counterparty not opposite"):
        bankrupt.deleverage(liquidator, trader, liquidator)


def test_only_profit_is_taken(bankrupt: Venue, trader: Actor, liquidator: Actor) -> None:
    # a short opened at the gap price has no profit to give up
    late = actor("late short")
    bankrupt.fund(late, 10_000 * USDC)
    ask = bankrupt.order(late, is_buy=False, size=TENTH_BTC, price=GAP)
    bid = bankrupt.order(liquidator, is_buy=True, size=TENTH_BTC, price=GAP)
    bankrupt.settle(match(ask, bid))
    with boa.reverts("exchange: counterparty profit too small"):
        bankrupt.deleverage(liquidator, trader, late)
