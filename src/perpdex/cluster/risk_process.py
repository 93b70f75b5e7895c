"""``perpdex risk``: the position manager of cluster mode, and what the chain sends back to
the engines.

It folds the chain (:func:`~perpdex.risk.from_chain.position_manager_from_chain`), follows
every shard's journal with replicas (:class:`~perpdex.cluster.replicas.ReplicaSet`) and
every settlement outcome (:class:`~perpdex.cluster.outcome_follower.OutcomeFollower`), so
its position manager counts the fills not yet settled and the open orders' margin exactly
as the embedded node's does. The embedded node's :class:`ChainReconciler` then runs
unchanged on the replicas' books: its ``ChainCancel`` and ``IndexPrice`` commands go to the
command stream of the shard that owns them instead of to a sequencer.

Start. Outcomes first (to the stream's end), then the replicas (to their journals' ends):
a replayed fill with an outcome is not pending; one without is, as are the settled fills
whose block the chain fold has not reached (the node's ``_adopt``). From then on each fill
and each outcome goes to the position manager as it arrives; an outcome can overtake its
fill (the replica lags the settlement process's own), so recent outcomes are remembered
and such a fill is never counted as pending.

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
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from nats.aio.client import Client
from nats.js import JetStreamContext

from perpdex.chain.deployment import Deployment
from perpdex.cluster.commands import WireCommand, publish
from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.outcome_follower import OutcomeFollower
from perpdex.cluster.replicas import ReplicaSet
from perpdex.cluster.streams import StreamLayout, ensure_streams
from perpdex.cluster.transport import connect
from perpdex.core.eip712 import SignedOrder
from perpdex.core.types import Address, MarketId, Size
from perpdex.engine.commands import ChainCancel, IndexPrice
from perpdex.engine.config import MarketConfig
from perpdex.engine.events import Event, Filled
from perpdex.logs import report_failure, report_recovery
from perpdex.risk.from_chain import deployment_domain, position_manager_from_chain
from perpdex.risk.manager import PositionManager
from perpdex.risk.reservations import reserves_margin
from perpdex.services.open_orders import open_orders
from perpdex.services.reconcile import ChainReconciler
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import FillKey, FillOutcome, Rejected, Settled, fill_key
from perpdex.settlement.payload import match_from_fill

log = logging.getLogger(__name__)

RECENT_OUTCOMES: Final = 100_000
"""Outcomes remembered after the start, for fills that arrive after their outcome."""
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
        self._markets = [MarketConfig(m.id, m.tick_size, m.lot_size) for m in deployment.markets]
        self._nc: Client | None = None
        self._pm: PositionManager | None = None
        self._replicas: ReplicaSet | None = None
        self._outcome_follower: OutcomeFollower | None = None
        self._live = False
        self._fills: dict[FillKey, Match] = {}  # replayed before going live
        self._outcomes: OrderedDict[FillKey, FillOutcome] = OrderedDict()
        self._outbox: asyncio.Queue[tuple[WireCommand, bytes]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
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
        self._outcome_follower = OutcomeFollower(nc, config.layout, self.domain, self._on_outcome)
        await self._outcome_follower.start()
        await self._outcome_follower.caught_up()
        self._replicas = ReplicaSet(nc, config.layout, self._markets)
        self._replicas.bus.subscribe(self._on_event)
        await self._replicas.start()
        await self._replicas.caught_up()
        self._adopt()
        self._live = True
        self.reconciler.watch(self.pm)
        self.reconciler.cancel_unfillable()  # closed or repriced while no one was watching
        self.reconciler.feed_index()
        self._spawn(self.pm.run(config.poll_interval_s, before_sync=self._reserve_open))
        self._spawn(self._publish_commands())
        log.info(
            "risk started: chain folded to block %d, journals at %s, %d fills pending",
            self.pm.through,
            self.replicas.seqs(),
            len(self.pm.pending),
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._outcome_follower is not None:
            await self._outcome_follower.stop()
        if self._replicas is not None:
            await self._replicas.stop()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    # -- inputs ---------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if not isinstance(event, Filled):
            if self._live:
                self.reconciler.on_engine_event(event)
            return
        try:
            match = match_from_fill(event, self.domain)
        except ValueError:
            log.exception("fill %s carries no valid signed orders", event.seq)
            return
        key = fill_key(match)
        if not self._live:
            if key not in self._outcomes:
                self._fills[key] = match
            return
        if key not in self._outcomes:  # else its outcome came first: not pending
            self.pm.on_engine_event(event)
        self.reconciler.on_engine_event(event)

    def _on_outcome(self, outcome: FillOutcome) -> None:
        key = fill_key(outcome.match)
        self._outcomes[key] = outcome
        if len(self._outcomes) > RECENT_OUTCOMES and self._live:
            self._outcomes.popitem(last=False)
        if not self._live:
            self._fills.pop(key, None)
            return
        self.pm.on_outcome(outcome)
        if isinstance(outcome, Rejected):
            self.reconciler.report_rejected(outcome)

    def _adopt(self) -> None:
        """Pending: the replayed fills without an outcome, and the settled ones the chain
        fold has not reached yet (their outcome follows)."""
        pm = self.pm
        recent = [
            o for o in self._outcomes.values() if isinstance(o, Settled) and o.block > pm.through
        ]
        pm.adopt([*self._fills.values(), *(o.match for o in recent)], self._open_reservations())
        for outcome in recent:
            pm.on_outcome(outcome)
        self._fills.clear()

    def _open_reservations(self) -> list[tuple[SignedOrder, Size]]:
        return [
            (signed, size)
            for _, signed, size in open_orders(self.replicas.books, self.domain)
            if reserves_margin(signed.order)
        ]

    def _reserve_open(self) -> None:
        self.pm.reserve_open(self._open_reservations())

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

    def _spawn(self, body: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(body))
