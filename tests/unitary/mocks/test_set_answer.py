"""MockAggregator.set_answer: the owner writes a new round stamped now."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract


def test_writes_new_round_at_block_time(aggregator: VyperContract, deployer: str) -> None:
    boa.env.time_travel(seconds=600)
    with boa.env.prank(deployer):
        aggregator.set_answer(101_000 * 10**8)
    now = boa.env.evm.patch.timestamp

    assert aggregator.latestRoundData() == (2, 101_000 * 10**8, now, now, 2)


def test_keeps_previous_rounds(
    aggregator: VyperContract, deployer: str, initial_answer: int
) -> None:
    with boa.env.prank(deployer):
        aggregator.set_answer(1)
        aggregator.set_answer(2)

    assert aggregator.getRoundData(1)[1] == initial_answer
    assert aggregator.getRoundData(2)[1] == 1
    assert aggregator.latestRoundData()[:2] == (3, 2)


def test_emits_answer_updated(aggregator: VyperContract, deployer: str) -> None:
    with boa.env.prank(deployer):
        aggregator.set_answer(-7)

    (event,) = aggregator.get_logs()
    assert (event.current, event.round_id, event.updated_at) == (
        -7,
        2,
        boa.env.evm.patch.timestamp,
    )


def test_only_owner(aggregator: VyperContract, trader: str) -> None:
    with boa.env.prank(trader), boa.reverts("ownable: caller is not the owner"):
        aggregator.set_answer(1)
    assert aggregator.latestRoundData()[0] == 1
