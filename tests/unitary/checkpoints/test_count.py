"""Checkpoints.count: the number of posted checkpoints (the latest index)."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import head


def test_counts_posts_and_batches(checkpoints: VyperContract, operator: str, shard: int) -> None:
    assert checkpoints.count(shard) == 0
    with boa.env.prank(operator):
        checkpoints.post(shard, 1, head(1))
        assert checkpoints.count(shard) == 1
        checkpoints.post_batch(shard, [(2, head(2)), (3, head(3))])
    assert checkpoints.count(shard) == 3
    assert checkpoints.count(shard) == checkpoints.latest(shard)[0]
