"""MockAggregator.getRoundData: any written round; reverts on unwritten ones."""

from __future__ import annotations

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract


def test_returns_historic_round(aggregator: VyperContract, deployer: str) -> None:
    with boa.env.prank(deployer):
        aggregator.set_answer_at(11, 1_000)
        aggregator.set_answer_at(22, 2_000)

    assert aggregator.getRoundData(2) == (2, 11, 1_000, 1_000, 2)
    assert aggregator.getRoundData(3) == (3, 22, 2_000, 2_000, 3)


@pytest.mark.parametrize("round_id", [0, 2, 2**80 - 1])
def test_unwritten_round_reverts(aggregator: VyperContract, round_id: int) -> None:
    with boa.reverts("MockAggregator: no data present"):
        aggregator.getRoundData(round_id)
