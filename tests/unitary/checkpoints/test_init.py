"""Checkpoints.__init__: the deployer is admin, the operator is set, the log is empty."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import CHECKPOINTS, GENESIS

ZERO_ADDRESS = "0x" + "00" * 20


def test_roles_and_empty_log(
    checkpoints: VyperContract, admin: str, operator: str, shard: int
) -> None:
    assert checkpoints.admin() == admin
    assert checkpoints.operator() == operator
    assert checkpoints.count(shard) == 0
    assert checkpoints.latest(shard) == (0, *GENESIS)


def test_logs_the_operator(checkpoints: VyperContract, operator: str) -> None:
    (event,) = checkpoints.get_logs()
    assert type(event).__name__ == "OperatorChanged"
    assert event.operator == operator


def test_rejects_zero_operator(admin: str) -> None:
    with boa.env.prank(admin), boa.reverts("checkpoints: zero operator"):
        CHECKPOINTS.deploy(ZERO_ADDRESS)
