"""The Exchange and its extension must deploy on a real chain: EIP-170 caps runtime code."""

from __future__ import annotations

import pytest
from boa.contracts.vyper.vyper_contract import VyperDeployer
from tests.unitary.exchange.venue import EXCHANGE, LIQUIDATIONS, MARKETS

EIP170_MAX_CODE_SIZE = 24_576


@pytest.mark.parametrize(
    "deployer", [EXCHANGE, LIQUIDATIONS, MARKETS], ids=["Exchange", "Liquidations", "Markets"]
)
def test_runtime_code_fits_eip170(deployer: VyperDeployer) -> None:
    assert len(deployer.compiler_data.bytecode_runtime) <= EIP170_MAX_CODE_SIZE
