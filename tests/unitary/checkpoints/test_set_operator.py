"""Checkpoints.set_operator: the admin rotates the operator key; history stays."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import head, stored

ZERO_ADDRESS = "0x" + "00" * 20


def test_rotation_hands_over_posting(
    checkpoints: VyperContract, admin: str, operator: str, outsider: str, shard: int
) -> None:
    with boa.env.prank(operator):
        checkpoints.post(shard, 1, head(1))
    before = stored(checkpoints, shard)
    with boa.env.prank(admin):
        checkpoints.set_operator(outsider)
    (event,) = checkpoints.get_logs()

    assert (type(event).__name__, event.operator) == ("OperatorChanged", outsider)
    assert checkpoints.operator() == outsider
    assert stored(checkpoints, shard) == before
    with boa.env.prank(operator), boa.reverts("checkpoints: caller is not the operator"):
        checkpoints.post(shard, 2, head(2))
    with boa.env.prank(outsider):
        assert checkpoints.post(shard, 2, head(2)) == 2


def test_the_new_operator_cannot_rewrite(
    checkpoints: VyperContract, admin: str, operator: str, outsider: str, shard: int
) -> None:
    with boa.env.prank(operator):
        checkpoints.post(shard, 9, head(9))
    with boa.env.prank(admin):
        checkpoints.set_operator(outsider)
    with boa.env.prank(outsider), boa.reverts("checkpoints: seq not above the latest"):
        checkpoints.post(shard, 9, head(10))


def test_only_the_admin_rotates(checkpoints: VyperContract, operator: str, outsider: str) -> None:
    for caller in (operator, outsider):
        with boa.env.prank(caller), boa.reverts("checkpoints: caller is not the admin"):
            checkpoints.set_operator(outsider)
    assert checkpoints.operator() == operator


def test_rejects_zero_operator(checkpoints: VyperContract, admin: str) -> None:
    with boa.env.prank(admin), boa.reverts("checkpoints: zero operator"):
        checkpoints.set_operator(ZERO_ADDRESS)
