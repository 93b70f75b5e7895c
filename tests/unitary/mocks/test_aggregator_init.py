"""MockAggregator.__init__: feed metadata, owner and round 1."""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperDeployer


def test_feed_metadata_and_first_round(aggregator_deployer: VyperDeployer, keeper: str) -> None:
    with boa.env.prank(keeper):
        feed = aggregator_deployer.deploy(18, "ETH / USD", 3_000 * 10**18)
    now = boa.env.evm.patch.timestamp

    assert feed.decimals() == 18
    assert feed.description() == "ETH / USD"
    assert feed.version() == feed._constants._VERSION
    assert feed.owner() == keeper
    assert feed.latestRoundData() == (1, 3_000 * 10**18, now, now, 1)


def test_logs_first_answer(aggregator_deployer: VyperDeployer) -> None:
    feed = aggregator_deployer.deploy(8, "BTC / USD", -5)

    (event,) = [log for log in feed.get_logs() if type(log).__name__ == "AnswerUpdated"]
    assert (event.current, event.round_id) == (-5, 1)
