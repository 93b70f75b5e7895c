"""Checkpoints.checkpoints: the log in pages, for verifiers."""

from __future__ import annotations

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import GENESIS, head, stored


@pytest.fixture
def five(checkpoints: VyperContract, operator: str, shard: int) -> VyperContract:
    with boa.env.prank(operator):
        checkpoints.post_batch(shard, [(seq, head(seq)) for seq in range(10, 60, 10)])
    return checkpoints


def test_pages_cover_the_log(five: VyperContract, shard: int) -> None:
    pages = [five.checkpoints(shard, first, 2) for first in (1, 3, 5)]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [point for page in pages for point in page] == stored(five, shard)


def test_index_zero_is_the_genesis(five: VyperContract, shard: int) -> None:
    assert five.checkpoints(shard, 0, 1) == [GENESIS]


@pytest.mark.parametrize(("first", "limit"), [(6, 1), (2**256 - 1, 5), (1, 0), (3, 0)])
def test_empty_pages(five: VyperContract, first: int, limit: int, shard: int) -> None:
    assert five.checkpoints(shard, first, limit) == []


def test_a_full_page(checkpoints: VyperContract, operator: str, shard: int) -> None:
    size = checkpoints.MAX_PAGE()
    batch = checkpoints.MAX_BATCH()
    with boa.env.prank(operator):
        for start in range(1, size + 2, batch):
            checkpoints.post_batch(shard, [(seq, head(seq)) for seq in range(start, start + batch)])
    page = checkpoints.checkpoints(shard, 1, size)
    assert [(seq, h) for seq, h, _ in page] == [(seq, head(seq)) for seq in range(1, size + 1)]


def test_page_above_the_bound_reverts(five: VyperContract, shard: int) -> None:
    with boa.reverts("checkpoints: page too large"):
        five.checkpoints(shard, 1, five.MAX_PAGE() + 1)
