"""Checkpoints.post_batch: several posts in one call, all or nothing."""

from __future__ import annotations

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import ZERO_HEAD, head, posted_events, stored


def test_appends_in_order_with_one_event_each(
    checkpoints: VyperContract, operator: str, shard: int
) -> None:
    with boa.env.prank(operator):
        checkpoints.post(shard, 1, head(1))
        last = checkpoints.post_batch(shard, [(10, head(10)), (20, head(20)), (30, head(30))])
    events = posted_events(checkpoints, shard)
    now = boa.env.evm.patch.timestamp

    assert last == 4
    assert events == [(2, 10, head(10), now), (3, 20, head(20), now), (4, 30, head(30), now)]
    assert stored(checkpoints, shard)[1:] == [(seq, head(seq), now) for seq in (10, 20, 30)]


def test_a_full_batch(checkpoints: VyperContract, operator: str, shard: int) -> None:
    size = checkpoints.MAX_BATCH()
    with boa.env.prank(operator):
        assert (
            checkpoints.post_batch(shard, [(seq, head(seq)) for seq in range(1, size + 1)]) == size
        )
    assert checkpoints.latest(shard)[:3] == (size, size, head(size))


@pytest.mark.parametrize(
    ("batch", "reason"),
    [
        ([(6, head(6)), (6, head(7))], "checkpoints: seq not above the latest"),
        ([(7, head(7)), (6, head(6))], "checkpoints: seq not above the latest"),
        ([(5, head(5))], "checkpoints: seq not above the latest"),
        ([(6, head(6)), (7, ZERO_HEAD)], "checkpoints: zero head"),
        ([], "checkpoints: empty batch"),
    ],
)
def test_one_bad_checkpoint_reverts_the_batch(
    checkpoints: VyperContract,
    operator: str,
    batch: list[tuple[int, bytes]],
    reason: str,
    shard: int,
) -> None:
    with boa.env.prank(operator):
        checkpoints.post(shard, 5, head(5))
        with boa.reverts(reason):
            checkpoints.post_batch(shard, batch)

    assert [(seq, h) for seq, h, _ in stored(checkpoints, shard)] == [(5, head(5))]


def test_outsider_cannot_post_a_batch(
    checkpoints: VyperContract, outsider: str, shard: int
) -> None:
    with boa.env.prank(outsider), boa.reverts("checkpoints: caller is not the operator"):
        checkpoints.post_batch(shard, [(1, head(1))])
