"""Checkpoints.post: the operator appends one checkpoint; no gap, no rewrite, no zero head."""

from __future__ import annotations

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import MAX_UINT64, ZERO_HEAD, head, posted_events, stored


def test_first_post_is_index_one(checkpoints: VyperContract, operator: str, shard: int) -> None:
    boa.env.time_travel(seconds=60)
    with boa.env.prank(operator):
        index = checkpoints.post(shard, 5, head(1))
    events = posted_events(checkpoints, shard)
    now = boa.env.evm.patch.timestamp

    assert index == 1
    assert events == [(1, 5, head(1), now)]
    assert checkpoints.count(shard) == 1
    assert checkpoints.checkpoint(shard, 1) == (5, head(1), now)


def test_indices_are_gapless_while_seqs_may_jump(
    checkpoints: VyperContract, operator: str, shard: int
) -> None:
    with boa.env.prank(operator):
        indices = [checkpoints.post(shard, seq, head(seq)) for seq in (1, 2, 1_000, MAX_UINT64)]

    assert indices == [1, 2, 3, 4]
    assert [(seq, h) for seq, h, _ in stored(checkpoints, shard)] == [
        (seq, head(seq)) for seq in (1, 2, 1_000, MAX_UINT64)
    ]


def test_outsider_cannot_post(checkpoints: VyperContract, outsider: str, shard: int) -> None:
    with boa.env.prank(outsider), boa.reverts("checkpoints: caller is not the operator"):
        checkpoints.post(shard, 1, head(1))
    assert checkpoints.count(shard) == 0


def test_admin_is_not_the_operator(checkpoints: VyperContract, admin: str, shard: int) -> None:
    with boa.env.prank(admin), boa.reverts("checkpoints: caller is not the operator"):
        checkpoints.post(shard, 1, head(1))


@pytest.mark.parametrize("seq", [10, 9, 1])
def test_rewrite_at_same_or_lower_seq_reverts(
    checkpoints: VyperContract, operator: str, seq: int, shard: int
) -> None:
    with boa.env.prank(operator):
        checkpoints.post(shard, 10, head(1))
        with boa.reverts("checkpoints: seq not above the latest"):
            checkpoints.post(shard, seq, head(2))

    assert stored(checkpoints, shard)[0][:2] == (10, head(1))
    assert checkpoints.count(shard) == 1


def test_seq_zero_is_the_genesis(checkpoints: VyperContract, operator: str, shard: int) -> None:
    with boa.env.prank(operator), boa.reverts("checkpoints: seq not above the latest"):
        checkpoints.post(shard, 0, head(1))


def test_zero_head_reverts(checkpoints: VyperContract, operator: str, shard: int) -> None:
    with boa.env.prank(operator), boa.reverts("checkpoints: zero head"):
        checkpoints.post(shard, 1, ZERO_HEAD)
    assert checkpoints.count(shard) == 0


def test_a_failed_post_leaves_the_next_index(
    checkpoints: VyperContract, operator: str, shard: int
) -> None:
    with boa.env.prank(operator):
        checkpoints.post(shard, 3, head(3))
        with boa.reverts("checkpoints: zero head"):
            checkpoints.post(shard, 4, ZERO_HEAD)
        assert checkpoints.post(shard, 4, head(4)) == 2
