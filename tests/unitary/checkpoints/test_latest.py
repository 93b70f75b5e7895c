"""Checkpoints.latest: the last posted checkpoint, or the genesis before any."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import GENESIS, head


def test_genesis_before_any_post(checkpoints: VyperContract, shard: int) -> None:
    assert checkpoints.latest(shard) == (0, *GENESIS)


def test_follows_each_post(checkpoints: VyperContract, operator: str, shard: int) -> None:
    with boa.env.prank(operator):
        for index, seq in enumerate((4, 8, 15), start=1):
            boa.env.time_travel(seconds=12)
            checkpoints.post(shard, seq, head(seq))
            assert checkpoints.latest(shard) == (index, seq, head(seq), boa.env.evm.patch.timestamp)
