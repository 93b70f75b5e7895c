"""Checkpoints.checkpoint: any checkpoint by index; index 0 is the genesis."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import GENESIS, head


def test_index_zero_is_the_genesis(checkpoints: VyperContract, operator: str, shard: int) -> None:
    assert checkpoints.checkpoint(shard, 0) == GENESIS
    with boa.env.prank(operator):
        checkpoints.post(shard, 1, head(1))
    assert checkpoints.checkpoint(shard, 0) == GENESIS


def test_every_index_keeps_its_checkpoint(
    checkpoints: VyperContract, operator: str, shard: int
) -> None:
    posted = []
    with boa.env.prank(operator):
        for seq in (3, 7, 11):
            boa.env.time_travel(seconds=5)
            checkpoints.post(shard, seq, head(seq))
            posted.append((seq, head(seq), boa.env.evm.patch.timestamp))

    assert [checkpoints.checkpoint(shard, index) for index in (1, 2, 3)] == posted


def test_above_count_reverts(checkpoints: VyperContract, operator: str, shard: int) -> None:
    with boa.reverts("checkpoints: no such checkpoint"):
        checkpoints.checkpoint(shard, 1)
    with boa.env.prank(operator):
        checkpoints.post(shard, 1, head(1))
    with boa.reverts("checkpoints: no such checkpoint"):
        checkpoints.checkpoint(shard, 2)
