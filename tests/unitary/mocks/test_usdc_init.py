"""MockUSDC.__init__: metadata, owner and minter role."""

from __future__ import annotations

from pathlib import Path

import boa
from boa.contracts.vyper.vyper_contract import VyperContract

UNITS = boa.load_partial(str(Path(__file__).resolve().parents[3] / "contracts" / "units.vy"))


def test_metadata(usdc: VyperContract) -> None:
    constants = usdc._constants
    assert usdc.name() == constants._NAME == "Mock USD Coin"
    assert usdc.symbol() == constants._SYMBOL == "USDC"
    assert usdc.decimals() == constants._DECIMALS


def test_decimals_are_the_protocols_collateral_decimals(usdc: VyperContract) -> None:
    assert usdc.decimals() == UNITS._constants.COLLATERAL_DECIMALS


def test_deployer_is_owner_and_minter(usdc: VyperContract, deployer: str, trader: str) -> None:
    assert usdc.owner() == deployer
    assert usdc.is_minter(deployer)
    assert not usdc.is_minter(trader)


def test_starts_empty(usdc: VyperContract, deployer: str) -> None:
    assert usdc.totalSupply() == 0
    assert usdc.balanceOf(deployer) == 0


def test_permit_domain(usdc: VyperContract) -> None:
    _, name, version, chain_id, verifying_contract, _, _ = usdc.eip712Domain()
    assert (name, version) == (usdc._constants._NAME_EIP712, usdc._constants._VERSION_EIP712)
    assert chain_id == boa.env.evm.patch.chain_id
    assert verifying_contract == usdc.address
