"""MockUSDC.faucet: anyone mints any amount to any address."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract

ZERO_ADDRESS = "0x" + "00" * 20


def test_anyone_mints_to_anyone(usdc: VyperContract, trader: str, keeper: str) -> None:
    amount = 1_234_567 * 10 ** usdc.decimals()
    with boa.env.prank(keeper):
        usdc.faucet(trader, amount)

    assert usdc.balanceOf(trader) == amount
    assert usdc.balanceOf(keeper) == 0
    assert usdc.totalSupply() == amount


def test_mints_accumulate(usdc: VyperContract, trader: str) -> None:
    with boa.env.prank(trader):
        usdc.faucet(trader, 5)
        usdc.faucet(trader, 7)

    assert usdc.balanceOf(trader) == 12
    assert usdc.totalSupply() == 12


def test_emits_transfer_from_zero_and_faucet(usdc: VyperContract, trader: str, keeper: str) -> None:
    with boa.env.prank(keeper):
        usdc.faucet(trader, 42)

    transfer, faucet = usdc.get_logs()
    assert (transfer.sender, transfer.receiver, transfer.value) == (ZERO_ADDRESS, trader, 42)
    assert (faucet.caller, faucet.to, faucet.amount) == (keeper, trader, 42)


def test_rejects_zero_address(usdc: VyperContract, trader: str) -> None:
    with boa.env.prank(trader), boa.reverts("erc20: mint to the zero address"):
        usdc.faucet(ZERO_ADDRESS, 1)
