"""Real nats-server processes (the binary `make setup` installs) for the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perpdex.cluster.nats_server import NatsCluster, NatsConfig


@pytest.fixture(scope="module")
def nats_single() -> Iterator[NatsCluster]:
    """One JetStream server shared by a module's tests (each uses its own shard or prefix)."""
    with NatsCluster(NatsConfig(nodes=1)) as server:
        yield server


@pytest.fixture
def nats_three() -> Iterator[NatsCluster]:
    """A three-node JetStream cluster of the test's own: the test may kill its nodes."""
    with NatsCluster(NatsConfig(nodes=3)) as cluster:
        yield cluster
