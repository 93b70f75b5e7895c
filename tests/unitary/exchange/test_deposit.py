"""``deposit``: only the collateral token, pulled by the vault itself, is credited."""

from __future__ import annotations

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.exchange.venue import CONTRACTS, EXCHANGE, MOCK_USDC, USDC, Actor, Venue, events

MOCK_FEE_TOKEN = boa.load_partial(str(CONTRACTS / "mocks" / "MockFeeToken.vy"))


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


# ---------------------------------------------------------------- fee-on-transfer collateral


@pytest.fixture
def fee_token() -> VyperContract:
    return MOCK_FEE_TOKEN.deploy()


@pytest.fixture
def fee_vault(venue: Venue, fee_token: VyperContract) -> VyperContract:
    """An Exchange on the same registry whose collateral takes 1% of every transfer."""
    with boa.env.prank(venue.admin.address):
        return EXCHANGE.deploy(
            fee_token.address,
            venue.markets.address,
            venue.liquidations.address,
            venue.checkpoints.address,
            venue.operator.address,
        )


def deposit(token: VyperContract, vault: VyperContract, who: Actor, amount: int) -> list[object]:
    token.faucet(who.address, amount)
    with boa.env.prank(who.address):
        token.approve(vault.address, amount)
        vault.deposit(amount)
        return list(vault.get_logs())


def test_fee_on_transfer_deposit_is_not_over_credited(
    fee_token: VyperContract, fee_vault: VyperContract, trader: Actor
) -> None:
    """Regression: the amount asked for was credited, 1% more than the vault received, so
    the vault owed more than it held."""
    logs = deposit(fee_token, fee_vault, trader, 1_000 * USDC)
    arrived = 1_000 * USDC - 1_000 * USDC * fee_token.FEE_PPM() // 10**6
    assert fee_vault.account(trader.address)[0] == arrived
    assert fee_token.balanceOf(fee_vault.address) == arrived
    (deposited,) = events(logs, "Deposited")
    assert deposited.amount == arrived


def test_fee_on_transfer_deposits_leave_every_trader_able_to_withdraw(
    fee_token: VyperContract, fee_vault: VyperContract, trader: Actor, outsider: Actor
) -> None:
    """The attacker deposits first and withdraws all of their credit: were credits the
    amounts asked for, the victim's withdrawal would find the vault short."""
    for who in (outsider, trader):
        deposit(fee_token, fee_vault, who, 1_000 * USDC)
    for who in (outsider, trader):
        credit = fee_vault.account(who.address)[0]
        with boa.env.prank(who.address):
            fee_vault.request_withdrawal(credit)
            boa.env.time_travel(seconds=fee_vault.withdrawal_delay())
            fee_vault.execute_withdrawal()
    assert fee_token.balanceOf(fee_vault.address) == 0


def test_fee_on_transfer_insurance_funding_credits_what_arrived(
    fee_token: VyperContract, fee_vault: VyperContract, outsider: Actor
) -> None:
    fee_token.faucet(outsider.address, 500 * USDC)
    with boa.env.prank(outsider.address):
        fee_token.approve(fee_vault.address, 500 * USDC)
        fee_vault.fund_insurance(500 * USDC)
    assert fee_vault.insurance_fund() == fee_token.balanceOf(fee_vault.address) == 495 * USDC
