"""What a gateway process and the HTTP reader of cluster mode both build: the embedded
node's :class:`~perpdex.gateway.service.Gateway` over replicas of every shard, with a
position manager of its own.

Start: fold the chain into a position manager
(:func:`~perpdex.risk.from_chain.position_manager_from_chain`), follow every settlement
outcome to the stream's end (:class:`~perpdex.cluster.outcome_follower.OutcomeFollower`),
then rebuild a replica of every shard from its journal
(:class:`~perpdex.cluster.replica_commands.ReplicaCommands` or the gateway's
:class:`~perpdex.cluster.gateway_commands.JetStreamCommands`), whose bus feeds the same
handlers as in the embedded node: the gateway's feeds, an account log and a tape in
memory, and the position manager's pending fills and reservations
(:class:`~perpdex.cluster.position_feed.PositionFeed`); the traders' leverage caps come
from the bucket every gateway shares (:class:`~perpdex.cluster.leverage_board.LeverageBoard`).
Only once all of that caught up does the process serve, so its first answer already sees
every shard's open orders and unsettled fills. Then the position manager folds the chain
on; once the process serves, ``report`` puts its record on the status board.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from nats.aio.client import Client

from perpdex.chain.deployment import Deployment
from perpdex.cluster.leverage_board import LeverageBoard
from perpdex.cluster.outcome_follower import OutcomeFollower
from perpdex.cluster.position_feed import PositionFeed
from perpdex.cluster.replica_commands import ReplicaCommands
from perpdex.cluster.status import StatusReporter, status_bucket
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.tasks import Tasks
from perpdex.engine.events import Event, Filled
from perpdex.gateway.receipts import ReceiptSigner
from perpdex.gateway.service import Gateway
from perpdex.gateway.verify import Verifier
from perpdex.risk.from_chain import deployment_domain, position_manager_from_chain
from perpdex.risk.leverage import LeverageStore
from perpdex.risk.manager import PositionManager

Sink = TypeVar("Sink", bound=ReplicaCommands)


class ReplicatedGateway(Generic[Sink]):
    """``name`` and ``role``: the process's record on the status board."""

    def __init__(
        self,
        deployment: Deployment,
        layout: StreamLayout,
        name: str,
        role: str,
        poll_interval_s: float,
    ) -> None:
        self.deployment = deployment
        self.layout = layout
        self.domain = deployment_domain(deployment)
        self._name = name
        self._role = role
        self._poll_interval_s = poll_interval_s
        self._pm: PositionManager | None = None
        self._commands: Sink | None = None
        self._feed: PositionFeed | None = None
        self._outcome_follower: OutcomeFollower | None = None
        self._leverage_board: LeverageBoard | None = None
        self._gateway: Gateway | None = None
        self._fold: asyncio.Task[None] | None = None
        self._tasks = Tasks()

    @property
    def pm(self) -> PositionManager:
        assert self._pm is not None, "not started"
        return self._pm

    @property
    def commands(self) -> Sink:
        assert self._commands is not None, "not started"
        return self._commands

    @property
    def gateway(self) -> Gateway:
        assert self._gateway is not None, "not started"
        return self._gateway

    @property
    def started(self) -> bool:
        return self._gateway is not None

    @property
    def folding(self) -> bool:
        """Whether the position manager folds the chain (its task runs)."""
        return self._fold is not None and not self._fold.done()

    async def start(
        self,
        nc: Client,
        commands: Callable[[PositionManager], Sink],
        *,
        leverage: LeverageStore | None = None,
        verifier: Verifier | None = None,
        receipts: ReceiptSigner | None = None,
    ) -> None:
        """``commands`` makes the gateway's sink (and so its replicas) for the position
        manager, once folded; ``receipts`` signs the receipt of every order it places."""
        pm = self._pm = await position_manager_from_chain(self.deployment, leverage)
        self._leverage_board = board = await LeverageBoard.open(
            nc.jetstream(), self.layout, pm.leverages
        )
        board.start()
        self._commands = sink = commands(pm)
        replicas = sink.replicas
        self._feed = feed = PositionFeed(pm, self.domain, lambda: replicas.books)
        self._outcome_follower = OutcomeFollower(nc, self.layout, self.domain, feed.on_outcome)
        await self._outcome_follower.start()
        await self._outcome_follower.caught_up()
        gateway = Gateway(
            sink,
            replicas.bus,
            self.domain,
            risk=pm,
            verifier=verifier,
            receipts=receipts,
            share_leverage=board.share,
        )
        replicas.bus.subscribe(self._on_event)
        await replicas.start()
        await replicas.caught_up()
        feed.go_live()
        self._gateway = gateway
        self._fold = self._tasks.spawn(pm.run(self._poll_interval_s, before_sync=feed.reserve_open))

    async def report(self, nc: Client) -> None:
        """Put the process's record on the status board from now on (once it serves)."""
        board = await status_bucket(nc.jetstream(), self.layout)
        progress = self.commands.replicas.progress
        self._tasks.spawn(StatusReporter(board, self._name, self._role, None, progress).run())

    async def stop(self) -> None:
        if self._gateway is not None:
            self._gateway.close_receipts()
        await self._tasks.cancel()
        if self._commands is not None:
            await self._commands.stop()
        if self._outcome_follower is not None:
            await self._outcome_follower.stop()
        if self._leverage_board is not None:
            await self._leverage_board.stop()

    def _on_event(self, event: Event) -> None:
        if type(event) is Filled:
            assert self._feed is not None
            self._feed.on_fill(event)
