"""The stream layout's names and shards, and the server configs, without a server."""

from __future__ import annotations

import pytest

from perpdex.cluster.nats_server import NatsConfig
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.core.types import MarketId


def test_markets_spread_over_the_shards_and_each_shard_has_its_own_subjects() -> None:
    layout = StreamLayout(shards=3, replicas=3)
    assert [layout.shard_of(MarketId(market)) for market in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert layout.command_subject(ShardId(2)) == "perpdex.cmd.2"
    assert layout.journal_stream(ShardId(2)) == "PERPDEX_JOURNAL_2"
    assert layout.journal_subject(ShardId(2)) == "perpdex.journal.2"
    assert layout.event_subject(ShardId(2), MarketId(5)) == "perpdex.evt.2.5"
    assert layout.outcome_subject(ShardId(2)) == "perpdex.out.2"
    names = [config.name for config in layout.configs()]
    assert len(names) == len(set(names)) == 2 + 2 * 3  # commands, outcomes; two per shard
    assert {config.num_replicas for config in layout.configs()} == {3}


def test_the_single_writer_streams_keep_every_entry() -> None:
    config = StreamLayout(shards=1).journal_config(ShardId(0))
    assert config.deny_delete and config.deny_purge
    assert config.max_age is None and config.max_msgs is None and config.max_bytes is None


@pytest.mark.parametrize(
    "bad",
    [
        {"shards": 0},
        {"shards": 1, "replicas": 2},
        {"shards": 1, "prefix": "a.b"},
        {"shards": 1, "prefix": "a>"},
    ],
)
def test_a_bad_layout_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        StreamLayout(**bad)  # type: ignore[arg-type]


def test_a_cluster_of_an_even_number_of_nodes_is_refused() -> None:
    # two nodes lose their majority with either one: no better than one node, and slower
    for nodes in (0, 2, 4):
        with pytest.raises(ValueError):
            NatsConfig(nodes=nodes)
    assert NatsConfig(nodes=1).replicas == 1
    assert NatsConfig(nodes=3).replicas == 3
