"""MockAggregator.latestRoundData: always the last written round."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract


def test_initial_round(aggregator: VyperContract, initial_answer: int) -> None:
    round_id, answer, started_at, updated_at, answered_in_round = aggregator.latestRoundData()
    assert (round_id, answer, answered_in_round) == (1, initial_answer, 1)
    assert started_at == updated_at


def test_follows_latest_write_even_if_older(aggregator: VyperContract, deployer: str) -> None:
    with boa.env.prank(deployer):
        aggregator.set_answer_at(3, 10)

    assert aggregator.latestRoundData() == (2, 3, 10, 10, 2)
