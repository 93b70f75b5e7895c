"""MockAggregator.set_answer_at: the owner writes a round with any timestamp."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract


def test_writes_stale_round(aggregator: VyperContract, deployer: str) -> None:
    boa.env.time_travel(seconds=7_200)
    stale = boa.env.evm.patch.timestamp - 3_600
    with boa.env.prank(deployer):
        aggregator.set_answer_at(99_000 * 10**8, stale)

    assert aggregator.latestRoundData() == (2, 99_000 * 10**8, stale, stale, 2)


def test_writes_future_round(aggregator: VyperContract, deployer: str) -> None:
    future = boa.env.evm.patch.timestamp + 60
    with boa.env.prank(deployer):
        aggregator.set_answer_at(1, future)

    assert aggregator.latestRoundData()[3] == future


def test_emits_answer_updated(aggregator: VyperContract, deployer: str) -> None:
    with boa.env.prank(deployer):
        aggregator.set_answer_at(5, 1_000)

    (event,) = aggregator.get_logs()
    assert (event.current, event.round_id, event.updated_at) == (5, 2, 1_000)


def test_only_owner(aggregator: VyperContract, trader: str) -> None:
    with boa.env.prank(trader), boa.reverts("ownable: caller is not the owner"):
        aggregator.set_answer_at(1, 1)
