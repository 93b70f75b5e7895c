"""What the HTTP API reads, as the node hands it over: getters, since the node replaces
its services on a restart (a route reads the current one, or answers ``unavailable``).

Every getter runs on the node's event loop (the routes are ``async``): the gateway's and
the position manager's state are the loop's alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perpdex.chain.deployment import Deployment
from perpdex.gateway.service import Gateway
from perpdex.http.chain_status import ChainStatus
from perpdex.http.journal_pages import ShardJournal
from perpdex.http.operator_log import OperatorLog
from perpdex.risk.manager import PositionManager


@dataclass(frozen=True, slots=True)
class ShardProgress:
    """How far a replica of an engine shard is (cluster mode)."""

    shard: int
    seq: int
    """The last journal entry the replica applied."""
    lag: int
    """Messages of the shard's journal stream not yet delivered to the replica."""


@dataclass(frozen=True, slots=True)
class Progress:
    """How far each stage of the node is, by journal seq and chain block."""

    services: Mapping[str, bool]
    """Each service by name: running or not."""
    journal_seq: int | None
    """The engine's last sequenced command (None: the engine is stopped)."""
    durable_seq: int | None
    settled_seq: int | None
    """Every fill at or below it is settled or refused for good (the runner's cursor)."""
    folded_block: int | None
    """The last block the position manager folded."""
    shards: Sequence[ShardProgress] = ()
    """The replicas of the engine shards (cluster mode's reader; none embedded)."""


@dataclass(frozen=True, slots=True)
class Sources:
    deployment: Deployment
    gateway: Callable[[], Gateway | None]
    positions: Callable[[], PositionManager | None]
    journal: Callable[[], Path | None]
    """The engine's journal file (None: the engine is stopped)."""
    progress: Callable[[], Progress]
    chain: ChainStatus
    operator: OperatorLog
    shard_journal: Callable[[int], ShardJournal | None] | None = None
    """Cluster mode (the reader): each engine shard's journal by shard (None: no such
    shard), read from its stream. None: the embedded node, whose one engine is shard 0 and
    whose journal is the file ``journal`` names."""

    @classmethod
    def of_gateway(cls, deployment: Deployment, gateway: Gateway) -> Sources:
        """A gateway alone (tests, benchmarks): no position manager, no journal, no chain
        reads; the routes that need them answer without their figures."""

        def progress() -> Progress:
            return Progress({"gateway": True}, gateway.commands.seq, None, None, None)

        return cls(
            deployment=deployment,
            gateway=lambda: gateway,
            positions=lambda: None,
            journal=lambda: None,
            progress=progress,
            chain=ChainStatus(deployment),
            operator=OperatorLog(),
        )
