"""``perpdex risk``: the position manager of cluster mode, and what the chain sends back to
the engines.

It folds the chain (:func:`~perpdex.risk.from_chain.position_manager_from_chain`), follows
every shard's journal with replicas (:class:`~perpdex.cluster.replicas.ReplicaSet`) and
every settlement outcome (:class:`~perpdex.cluster.outcome_follower.OutcomeFollower`), so
its position manager counts the fills not yet settled and the open orders' margin exactly
as the embedded node's does. The embedded node's :class:`ChainReconciler` then runs
unchanged on the replicas' books: its ``ChainCancel`` and ``IndexPrice`` commands go to the
command stream of the shard that owns them instead of to a sequencer.

Start. Outcomes first (to the stream's end), then the replicas (to their journals' ends),
then the fills and outcomes go to the position manager as the node's do
(:class:`~perpdex.cluster.position_feed.PositionFeed`, which the gateways use too).

Messages ids. A reconciliation repeats while the replicas have not yet applied its
command (the next fold sees the order still open), so a command's origin is the block of
the fold that decided it: the same command decided twice in one fold is stored once. A
rejected fill's cancel is named by the fill, so a restarted process that reads the
outcome again does not tell the traders twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from nats.aio.client import Client
from nats.js import JetStreamContext

from perpdex.chain.deployment import Deployment
from perpdex.cluster.commands import WireCommand, publish
from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.outcome_follower import OutcomeFollower
from perpdex.cluster.position_feed import PositionFeed
from perpdex.cluster.replicas import ReplicaSet
from perpdex.cluster.status import StatusReporter, status_bucket
from perpdex.cluster.streams import StreamLayout, ensure_streams
from perpdex.cluster.tasks import Tasks
from perpdex.cluster.transport import connect
from perpdex.core.types import Address, MarketId
from perpdex.engine.commands import ChainCancel, IndexPrice
from perpdex.engine.events import Event, Filled
from perpdex.logs import report_failure, report_recovery
from perpdex.risk.from_chain import (
    deployment_domain,
    engine_markets,
    position_manager_from_chain,
)
from perpdex.risk.manager import PositionManager
from perpdex.services.reconcile import ChainReconciler
from perpdex.settlement.outcomes import FillOutcome, Rejected

log = logging.getLogger(__name__)

_RETRY_S: Final = 0.25


@dataclass(frozen=True, slots=True)
class RiskConfig:
    deployment: Deployment
    nats: Sequence[str]
    layout: StreamLayout
    poll_interval_s: float = 0.2


class RiskProcess:
    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        deployment = config.deployment
        self.domain = deployment_domain(deployment)
        self._markets = engine_markets(deployment)
        self._nc: Client | None = None
        self._pm: PositionManager | None = None
        self._replicas: ReplicaSet | None = None
        self._outcome_follower: OutcomeFollower | None = None
        self._feed: PositionFeed | None = None
        self._outbox: asyncio.Queue[tuple[WireCommand, bytes]] = asyncio.Queue()
        self._tasks = Tasks()
        self.reconciler = ChainReconciler(
            self.domain, lambda: self.replicas.books, lambda: self._pm, self._submit
        )
        self.published = 0
        """Commands durable in the command stream."""

    @property
    def pm(self) -> PositionManager:
        assert self._pm is not None, "not started"
        return self._pm

    @property
    def replicas(self) -> ReplicaSet:
        assert self._replicas is not None, "not started"
        return self._replicas

    async def start(self) -> None:
        config = self.config
        nc = self._nc = await connect(config.nats, name="perpdex risk")
        await ensure_streams(nc.jetstream(), config.layout)
        self._pm = await position_manager_from_chain(config.deployment)
        self._feed = PositionFeed(self._pm, self.domain, lambda: self.replicas.books)
        self._outcome_follower = OutcomeFollower(nc, config.layout, self.domain, self._on_outcome)
        await self._outcome_follower.start()
        await self._outcome_follower.caught_up()
        self._replicas = ReplicaSet(nc, config.layout, self._markets)
        self._replicas.bus.subscribe(self._on_event)
        await self._replicas.start()
        await self._replicas.caught_up()
        self._feed.go_live()
        self.reconciler.watch(self.pm)
        self.reconciler.cancel_unfillable()  # closed or repriced while no one was watching
        self.reconciler.feed_index()
        self._tasks.spawn(self.pm.run(config.poll_interval_s, before_sync=self._feed.reserve_open))
        self._tasks.spawn(self._publish_commands())
        board = await status_bucket(nc.jetstream(), config.layout)
        self._tasks.spawn(StatusReporter(board, "risk", "risk", None, self.replicas.progress).run())
        log.info(
            "risk started: chain folded to block %d, journals at %s, %d fills pending",
            self.pm.through,
            self.replicas.seqs(),
            len(self.pm.pending),
        )

    async def stop(self) -> None:
        await self._tasks.cancel()
        if self._outcome_follower is not None:
            await self._outcome_follower.stop()
        if self._replicas is not None:
            await self._replicas.stop()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    # -- inputs ---------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        feed = self._feed
        assert feed is not None, "not started"
        if isinstance(event, Filled):
            feed.on_fill(event)
        if feed.live:
            self.reconciler.on_engine_event(event)

    def _on_outcome(self, outcome: FillOutcome) -> None:
        feed = self._feed
        assert feed is not None, "not started"
        feed.on_outcome(outcome)
        if feed.live and isinstance(outcome, Rejected):
            self.reconciler.report_rejected(outcome)

    # -- outputs --------------------------------------------------------------------------

    def _submit(self, command: ChainCancel | IndexPrice) -> None:
        if isinstance(command, IndexPrice):
            # the engine shard has no position manager: it releases held reduce-only
            # orders against the positions the command carries (journaled with it)
            command = replace(command, positions=self._positions_in(command.market))
        if isinstance(command, ChainCancel) and command.rejected is not None:
            fill = command.rejected
            origin = b"rejected:" + fill.maker_hash + fill.taker_hash
        else:
            origin = f"risk:{self.pm.through}".encode()
        self._outbox.put_nowait((command, origin))

    def _positions_in(self, market: MarketId) -> tuple[tuple[Address, int], ...]:
        pm = self.pm
        accounts = sorted(set(pm.ledger.accounts) | pm.pending.traders())
        return tuple(
            (account, size) for account in accounts if (size := pm.position(account, market)) != 0
        )

    async def _publish_commands(self) -> None:
        """Publish each command in order; while JetStream cannot take one, wait and retry
        it under the same origin (a part stored before the failure is a duplicate)."""
        js = self._js()
        while True:
            command, origin = await self._outbox.get()
            while True:
                try:
                    await publish(js, self.config.layout, command, origin=origin)
                    report_recovery(log, self, "command publish")
                    break
                except JetStreamUnavailableError as error:
                    report_failure(log, self, "command publish", error)
                    await asyncio.sleep(_RETRY_S)
            self.published += 1

    def _js(self) -> JetStreamContext:
        assert self._nc is not None, "not started"
        return self._nc.jetstream()
