"""MockUSDC exports snekmate's ERC-20: the approve/transferFrom path a deposit uses."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract


def test_approve_then_transfer_from(usdc: VyperContract, trader: str, keeper: str) -> None:
    # keeper plays the Exchange pulling a deposit
    usdc.faucet(trader, 100)
    with boa.env.prank(trader):
        assert usdc.approve(keeper, 60)
    with boa.env.prank(keeper):
        assert usdc.transferFrom(trader, keeper, 60)

    assert usdc.balanceOf(trader) == 40
    assert usdc.balanceOf(keeper) == 60
    assert usdc.allowance(trader, keeper) == 0


def test_transfer_from_beyond_allowance_reverts(
    usdc: VyperContract, trader: str, keeper: str
) -> None:
    usdc.faucet(trader, 100)
    with boa.env.prank(trader):
        usdc.approve(keeper, 59)
    with boa.env.prank(keeper), boa.reverts("erc20: insufficient allowance"):
        usdc.transferFrom(trader, keeper, 60)


def test_transfer_beyond_balance_reverts(usdc: VyperContract, trader: str, keeper: str) -> None:
    usdc.faucet(trader, 10)
    with boa.env.prank(trader), boa.reverts("erc20: transfer amount exceeds balance"):
        usdc.transfer(keeper, 11)


def test_mint_is_minter_only(usdc: VyperContract, deployer: str, trader: str) -> None:
    with boa.env.prank(trader), boa.reverts("erc20: access is denied"):
        usdc.mint(trader, 1)
    with boa.env.prank(deployer):
        usdc.mint(trader, 1)
    assert usdc.balanceOf(trader) == 1
