"""``perpdex settlement``: every engine fill of every shard to the chain, each exactly once.

One :class:`~perpdex.settlement.runner.SettlementRunner` per shard (a runner's cursor is a
point in one engine's sequence), fed by a durable JetStream consumer of the shard's event
stream (``settlement-<shard>``). The runners take turns in one loop, so their batches never
race for the operator key's nonce (the batcher reads it for each batch).

Exactly once. A fill settles once whatever happens to this process: a restarted runner
re-queues what its consumer delivers again, looks on chain for those already settled
(``Batcher.settled_before``) and the contract refuses any replay; what it adds here is
*when* a message may be acknowledged. A message is acked once every fill in it (and
before it) has an outcome *and* every outcome so far is durable in ``PERPDEX_OUT``: a crash
between the two can only redeliver fills, never lose an outcome that the position
manager's processes wait for. The consumer acknowledges explicitly and in order, and its
``ack_wait`` is long (a message waits for its fills' settlement, which may take a while
when the chain is slow); a redelivery before then only re-queues fills the runner holds.
A restarted process makes the consumer again from its acknowledgement floor, so what the
dead process held unacknowledged comes back at once.

An entry whose events came in parts (a message of its own each) counts as durable for the
runner only once its last part is in: the runner's cursor must never pass fills still to
come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect as web3_connect
from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.event_codec import decode_body
from perpdex.cluster.event_stream import PART, SEQ_LAST
from perpdex.cluster.outcomes import encode_outcome, outcome_message_id
from perpdex.cluster.status import StatusReporter, status_bucket
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_streams
from perpdex.cluster.tasks import Tasks
from perpdex.cluster.transport import UNAVAILABLE, connect, unavailable_on_failure
from perpdex.core.eip712 import Eip712Domain
from perpdex.logs import report_failure, report_recovery
from perpdex.risk.from_chain import deployment_domain
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.outcomes import FillOutcome
from perpdex.settlement.runner import MAX_RETRY_WAIT_S, SettlementRunner

log = logging.getLogger(__name__)

ACK_WAIT_S: Final = 600.0
FETCH_BATCH: Final = 256
_FETCH_TIMEOUT_S: Final = 0.5
_RETRY_S: Final = 0.25


@dataclass(frozen=True, slots=True)
class SettlementConfig:
    deployment: Deployment
    nats: Sequence[str]
    layout: StreamLayout
    interval_s: float = 0.2


class ShardCursor:
    """A runner's cursor in cluster mode: it only remembers how far every fill has an
    outcome; the shard's consumer acknowledges up to it (see the module doc)."""

    def __init__(self) -> None:
        self.seq = 0

    def advance(self, seq: int) -> None:
        self.seq = max(self.seq, seq)


class ShardFeed:
    """One shard: its runner, and the messages of its durable consumer not yet acked."""

    def __init__(
        self, shard: ShardId, make_batcher: Callable[[], Batcher], domain: Eip712Domain
    ) -> None:
        self.shard = shard
        self.cursor = ShardCursor()
        self.runner = SettlementRunner(make_batcher, domain, self.cursor, lambda: self.durable)
        self.durable = 0
        """Entries up to here are in whole (the runner's ``durable_seq``)."""
        self._unacked: deque[tuple[int, Msg]] = deque()  # (entry it completes, message)
        self.delivered = 0
        """Messages taken from the consumer (redeliveries too)."""

    def take(self, msg: Msg) -> None:
        headers = msg.headers or {}
        last = int(headers[SEQ_LAST])
        part = headers.get(PART)
        complete = part is None or _is_last_part(part)
        for event in decode_body(msg.data):
            self.runner.on_event(event)
        self.durable = max(self.durable, last if complete else last - 1)
        self._unacked.append((last if complete else last - 1, msg))
        self.delivered += 1

    async def ack_settled(self) -> None:
        """Acknowledge, in order, the messages whose fills all have an outcome."""
        while self._unacked and self._unacked[0][0] <= self.cursor.seq:
            _, msg = self._unacked.popleft()
            await msg.ack()


async def _resume_at(js: JetStreamContext, stream: str, durable: str) -> int:
    """The first message the durable consumer has not had acknowledged, the consumer made
    again from there: the messages a killed process held unacknowledged come back at once
    rather than after ``ACK_WAIT_S``."""
    try:
        info = await js.consumer_info(stream, durable)
    except nats.js.errors.NotFoundError:
        return 1
    await js.delete_consumer(stream, durable)
    floor: int = info.ack_floor.stream_seq
    return floor + 1


def _is_last_part(part: str) -> bool:
    index, count = part.split("/")
    return index == count


class SettlementProcess:
    def __init__(self, config: SettlementConfig) -> None:
        self.config = config
        self.domain = deployment_domain(config.deployment)
        self._nc: Client | None = None
        self.feeds: list[ShardFeed] = []
        self._outbox: asyncio.Queue[FillOutcome] = asyncio.Queue()
        self._publishing = False
        self._tasks = Tasks()
        self.published = 0
        """Outcomes durable in the outcome stream."""

    async def start(self) -> None:
        config = self.config
        nc = self._nc = await connect(config.nats, name="perpdex settlement")
        js = nc.jetstream()
        async with unavailable_on_failure("settlement streams"):
            await ensure_streams(js, config.layout)
        operator = config.deployment.wallet(Role.OPERATOR).account()

        def make_batcher() -> Batcher:
            web3 = web3_connect(config.deployment.rpc_url)
            exchange = bind(web3, config.deployment).exchange
            return Batcher(web3, exchange, operator, from_block=config.deployment.start_block)

        for shard in config.layout.all_shards:
            feed = ShardFeed(shard, make_batcher, self.domain)
            feed.runner.subscribe(self._outbox.put_nowait)
            self.feeds.append(feed)
            self._tasks.spawn(self._consume(js, feed))
        self._tasks.spawn(self._settle())
        self._tasks.spawn(self._publish_outcomes(js))
        board = await status_bucket(js, config.layout)
        reporter = StatusReporter(board, "settlement", "settlement", None, self._progress)
        self._tasks.spawn(reporter.run())
        log.info("settlement started for %d shards", len(self.feeds))

    async def stop(self) -> None:
        await self._tasks.cancel()
        if self._nc is not None:
            with contextlib.suppress(*UNAVAILABLE):
                await self._nc.close()

    def unsettled(self) -> int:
        return sum(len(feed.runner.unsettled()) for feed in self.feeds)

    def _progress(self) -> tuple[int, int]:
        """The status board's ``(seq, lag)``: the entries whose fills all have an outcome
        (summed over the shards), and the fills still without one."""
        return sum(feed.cursor.seq for feed in self.feeds), self.unsettled()

    # -- loops ----------------------------------------------------------------------------

    async def _consume(self, js: JetStreamContext, feed: ShardFeed) -> None:
        layout = self.config.layout
        stream = layout.event_stream(feed.shard)
        subscription = None
        while subscription is None:
            try:
                async with unavailable_on_failure(f"consume {stream}"):
                    durable = f"settlement-{feed.shard}"
                    start = await _resume_at(js, stream, durable)
                    subscription = await js.pull_subscribe(
                        layout.event_groups_subject(feed.shard),
                        durable=durable,
                        stream=stream,
                        config=ConsumerConfig(
                            ack_policy=AckPolicy.EXPLICIT,
                            ack_wait=ACK_WAIT_S,
                            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                            opt_start_seq=start,
                            max_ack_pending=-1,
                        ),
                    )
            except JetStreamUnavailableError as error:
                report_failure(log, feed, f"consumer of {stream}", error)
                await asyncio.sleep(_RETRY_S)
        report_recovery(log, feed, f"consumer of {stream}")
        while True:
            try:
                messages = await subscription.fetch(FETCH_BATCH, timeout=_FETCH_TIMEOUT_S)
            except (nats.errors.TimeoutError, TimeoutError):  # nothing new in the window
                messages = []
            except (*UNAVAILABLE, nats.js.errors.Error) as error:
                report_failure(log, feed, f"fetch from {stream}", error)
                await asyncio.sleep(_RETRY_S)
                continue
            report_recovery(log, feed, f"fetch from {stream}")
            for msg in messages:
                try:
                    feed.take(msg)
                except (msgspec.DecodeError, KeyError, ValueError) as error:
                    # the stream has one writer, the engine: this is a bug, never data
                    log.error("%s message %s skipped: %s", stream, msg.metadata.sequence, error)
                    await msg.ack()

    async def _settle(self) -> None:
        """Each shard's round in turn, then a pause (longer while rounds keep failing)."""
        interval = self.config.interval_s
        while True:
            for feed in self.feeds:
                await feed.runner.settle_once()
            await self._ack_settled()
            failures = max((feed.runner.failures for feed in self.feeds), default=0)
            wait = interval * 2 ** min(failures, 16)
            await asyncio.sleep(min(wait, max(interval, MAX_RETRY_WAIT_S)))

    async def _ack_settled(self) -> None:
        if not self._outbox.empty() or self._publishing:
            return  # an outcome is not durable yet: its fill's message waits
        for feed in self.feeds:
            try:
                await feed.ack_settled()
            except (*UNAVAILABLE, nats.errors.Error) as error:
                report_failure(log, feed, "acknowledgement", error)

    async def _publish_outcomes(self, js: JetStreamContext) -> None:
        layout = self.config.layout
        while True:
            outcome = await self._outbox.get()
            self._publishing = True
            shard = layout.shard_of(outcome.match.maker.order.market)
            while True:
                try:
                    async with unavailable_on_failure("outcome publish"):
                        await js.publish(
                            layout.outcome_subject(shard),
                            encode_outcome(outcome),
                            stream=layout.outcome_stream,
                            headers={"Nats-Msg-Id": outcome_message_id(outcome)},
                        )
                    report_recovery(log, self, "outcome publish")
                    break
                except JetStreamUnavailableError as error:
                    report_failure(log, self, "outcome publish", error)
                    await asyncio.sleep(_RETRY_S)
            self.published += 1
            self._publishing = False
