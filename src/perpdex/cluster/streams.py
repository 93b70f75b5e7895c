"""The JetStream streams and subjects of cluster mode, created idempotently.

Markets are split over ``shards`` engine shards (``shard_of``). Per shard:

- commands ``<prefix>.cmd.<shard>``, all in one stream ``<PREFIX>_CMD``: gateways publish a
  command with its order hash as ``Nats-Msg-Id``, so a retried publish inside
  ``command_dedup_s`` is stored once (``publish_command``);
- the journal ``<prefix>.journal.<shard>``, a stream of its own ``<PREFIX>_JOURNAL_<shard>``
  so that stream sequence n is journal entry n and the one engine of the shard can fence
  any other writer with an expected last sequence (``perpdex.cluster.journal``);
- events ``<prefix>.evt.<shard>.all`` (one message per journal group,
  ``perpdex.cluster.event_stream``), a stream of its own ``<PREFIX>_EVT_<shard>``, written
  by that engine only, the same way;
- settlement outcomes ``<prefix>.out.<shard>``, all in one stream ``<PREFIX>_OUT``, written
  by the settlement process with each fill's key as ``Nats-Msg-Id``
  (``perpdex.cluster.outcomes``).

A stream has ``replicas`` copies: three on a cluster (one node may die), one on a single
node (``NatsConfig.replicas``). Journal and event streams keep everything and refuse
deletes and purges: a hole would break the hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Final

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError

from perpdex.cluster.transport import START_TIMEOUT_S, unavailable_on_failure, until_available
from perpdex.core.types import MarketId
from perpdex.core.types import ShardId as ShardId  # re-exported: the cluster names it here

_STREAM_NAME_IN_USE: Final = 10058  # JetStream: the name exists with another configuration


@dataclass(frozen=True, slots=True)
class StreamLayout:
    shards: int
    replicas: int = 1
    prefix: str = "perpdex"
    command_dedup_s: float = 120.0  # a gateway retry later than this places a second time
    command_max_age_s: float = 86_400.0  # commands are in a journal long before this
    # The journal fences by expected last message id and sequence, not by de-duplication:
    # a short window only spares a round trip when a lost ack is retried.
    journal_dedup_s: float = 5.0

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ValueError("shards must be positive")
        if self.replicas not in (1, 3, 5):
            raise ValueError("replicas must be 1, 3 or 5")
        if not self.prefix.isidentifier():
            raise ValueError("prefix must be a plain token (letters, digits, underscores)")

    def shard_of(self, market: MarketId) -> ShardId:
        return ShardId(market % self.shards)

    @property
    def all_shards(self) -> list[ShardId]:
        return [ShardId(shard) for shard in range(self.shards)]

    @property
    def command_stream(self) -> str:
        return f"{self.prefix.upper()}_CMD"

    def command_subject(self, shard: ShardId) -> str:
        return f"{self.prefix}.cmd.{shard}"

    def journal_stream(self, shard: ShardId) -> str:
        return f"{self.prefix.upper()}_JOURNAL_{shard}"

    def journal_subject(self, shard: ShardId) -> str:
        return f"{self.prefix}.journal.{shard}"

    def event_stream(self, shard: ShardId) -> str:
        return f"{self.prefix.upper()}_EVT_{shard}"

    def event_subject(self, shard: ShardId, market: MarketId) -> str:
        return f"{self.prefix}.evt.{shard}.{market}"

    def event_groups_subject(self, shard: ShardId) -> str:
        """Where the engine publishes its events, one message per journal group."""
        return f"{self.prefix}.evt.{shard}.all"

    @property
    def outcome_stream(self) -> str:
        return f"{self.prefix.upper()}_OUT"

    def outcome_subject(self, shard: ShardId) -> str:
        return f"{self.prefix}.out.{shard}"

    def command_config(self) -> StreamConfig:
        return StreamConfig(
            name=self.command_stream,
            subjects=[f"{self.prefix}.cmd.*"],
            retention=RetentionPolicy.LIMITS,
            max_age=self.command_max_age_s,
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=self.command_dedup_s,
            discard=DiscardPolicy.OLD,
        )

    def outcome_config(self) -> StreamConfig:
        # kept: a restarted reader folds every outcome since the fills it replays
        return StreamConfig(
            name=self.outcome_stream,
            subjects=[f"{self.prefix}.out.*"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=self.command_dedup_s,
            discard=DiscardPolicy.NEW,
            deny_delete=True,
            deny_purge=True,
        )

    def journal_config(self, shard: ShardId) -> StreamConfig:
        return self._single_writer(self.journal_stream(shard), self.journal_subject(shard))

    def event_config(self, shard: ShardId) -> StreamConfig:
        return self._single_writer(self.event_stream(shard), f"{self.prefix}.evt.{shard}.>")

    def configs(self) -> list[StreamConfig]:
        per_shard = [
            config
            for shard in self.all_shards
            for config in (self.journal_config(shard), self.event_config(shard))
        ]
        return [self.command_config(), self.outcome_config(), *per_shard]

    def _single_writer(self, name: str, subject: str) -> StreamConfig:
        return StreamConfig(
            name=name,
            subjects=[subject],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=self.journal_dedup_s,
            discard=DiscardPolicy.NEW,  # never drop old entries to make room
            deny_delete=True,
            deny_purge=True,
            allow_direct=True,
        )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to ``config`` (idempotent)."""
    try:
        await js.add_stream(config)
    except BadRequestError as error:
        if error.err_code != _STREAM_NAME_IN_USE:
            raise
        await js.update_stream(config)


async def ensure_streams(js: JetStreamContext, layout: StreamLayout) -> None:
    """Every stream of ``layout`` (idempotent). A creation JetStream does not answer in time
    is made again for up to ``START_TIMEOUT_S``: the first streams of a cluster that just
    formed can take longer than one API timeout to get their replicas placed."""
    for config in layout.configs():
        await until_available(partial(_ensure_or_unavailable, js, config), START_TIMEOUT_S)


async def _ensure_or_unavailable(js: JetStreamContext, config: StreamConfig) -> None:
    async with unavailable_on_failure(f"stream {config.name}"):
        await ensure_stream(js, config)


@dataclass(frozen=True, slots=True)
class CommandAck:
    """A command durable in JetStream at ``stream_seq``; ``duplicate``: stored before."""

    stream_seq: int
    duplicate: bool


async def publish_command(
    js: JetStreamContext,
    layout: StreamLayout,
    market: MarketId,
    command: bytes,
    dedup_id: bytes,
    *,
    timeout_s: float = 2.0,
) -> CommandAck:
    """Publish ``command`` to its market's shard (``publish_to_shard``)."""
    return await publish_to_shard(
        js, layout, layout.shard_of(market), command, dedup_id, timeout_s=timeout_s
    )


async def publish_to_shard(
    js: JetStreamContext,
    layout: StreamLayout,
    shard: ShardId,
    command: bytes,
    dedup_id: bytes,
    *,
    timeout_s: float = 2.0,
) -> CommandAck:
    """Publish ``command`` to ``shard``'s command subject; returns once it is durable.

    ``dedup_id`` is the order hash (or a signed cancel's): a second publish with the same
    one inside ``layout.command_dedup_s`` is acknowledged as a duplicate, not stored, and
    its ack names the first one's sequence.
    Raises ``JetStreamUnavailableError`` when JetStream does not confirm in ``timeout_s``.
    """
    subject = layout.command_subject(shard)
    async with unavailable_on_failure(f"command to {subject}"):
        ack = await js.publish(
            subject,
            command,
            timeout=timeout_s,
            stream=layout.command_stream,
            headers={"Nats-Msg-Id": dedup_id.hex()},
        )
    return CommandAck(ack.seq, bool(ack.duplicate))
