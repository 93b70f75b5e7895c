"""``perpdex gateway``: a gateway of cluster mode, the embedded node's gateway with its
sequencer replaced by the engine shards' command stream
(:class:`~perpdex.cluster.gateway_commands.JetStreamCommands`).

It keeps no state that outlives it. On start it folds the chain into a position manager of
its own (the pre-trade check), then follows every settlement outcome and rebuilds a replica
of every shard from the journals (:class:`~perpdex.cluster.replicas.ReplicaSet`), which
feed the same handlers as in the embedded node: the gateway's feeds, an account log and a
tape in memory, and the position manager's pending fills and reservations
(:class:`~perpdex.cluster.position_feed.PositionFeed`). It serves only once all of that
caught up, so its first check already sees every shard's open orders and unsettled fills.
Two gateways run side by side on two ports (docs/architecture.md, cluster mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from perpdex.chain.deployment import Deployment
from perpdex.cluster.gateway_commands import WAIT_S, JetStreamCommands
from perpdex.cluster.outcome_follower import OutcomeFollower
from perpdex.cluster.position_feed import PositionFeed
from perpdex.cluster.status import StatusReporter, status_bucket
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import connect
from perpdex.engine.events import Event, Filled
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway
from perpdex.gateway.verify import Verifier, make_verifier
from perpdex.risk.from_chain import (
    deployment_domain,
    engine_markets,
    position_manager_from_chain,
)
from perpdex.risk.leverage import LeverageStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    deployment: Deployment
    nats: Sequence[str]
    layout: StreamLayout
    name: str
    """Unique among the gateways: its commands' message ids, its status record."""
    host: str = "127.0.0.1"
    port: int = 0
    state_dir: Path | None = None
    """Where the traders' leverage caps are kept (None: in memory)."""
    verify_workers: int = 1
    poll_interval_s: float = 0.2
    wait_s: float = WAIT_S
    """How long an answer waits for the replica to apply its command."""


class GatewayProcess:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        deployment = config.deployment
        self.domain = deployment_domain(deployment)
        self._markets = engine_markets(deployment)
        self._nc: Client | None = None
        self._feed: PositionFeed | None = None
        self._commands: JetStreamCommands | None = None
        self._outcome_follower: OutcomeFollower | None = None
        self._server: GatewayServer | None = None
        self._verifier: Verifier | None = None
        self._leverage: LeverageStore | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"ws://{self.config.host}:{self._server.port}"

    @property
    def gateway(self) -> Gateway:
        assert self._server is not None, "not started"
        return self._server.gateway

    @property
    def commands(self) -> JetStreamCommands:
        assert self._commands is not None, "not started"
        return self._commands

    async def start(self) -> None:
        config = self.config
        self._nc = nc = await connect(
            config.nats, name=config.name, buffer_while_reconnecting=False
        )
        if config.state_dir is not None:
            config.state_dir.mkdir(parents=True, exist_ok=True)
            self._leverage = LeverageStore(config.state_dir / "leverage.sqlite")
        pm = await position_manager_from_chain(config.deployment, self._leverage)
        self._commands = commands = JetStreamCommands(
            nc,
            config.layout,
            self._markets,
            self.domain,
            name=config.name,
            positions=pm.position,
            wait_s=config.wait_s,
        )
        replicas = commands.replicas
        self._feed = feed = PositionFeed(pm, self.domain, lambda: replicas.books)
        self._outcome_follower = OutcomeFollower(nc, config.layout, self.domain, feed.on_outcome)
        await self._outcome_follower.start()
        await self._outcome_follower.caught_up()
        self._verifier = make_verifier(self.domain, config.verify_workers)
        gateway = Gateway(commands, replicas.bus, self.domain, risk=pm, verifier=self._verifier)
        replicas.bus.subscribe(self._on_event)
        await replicas.start()
        await replicas.caught_up()
        feed.go_live()
        self._spawn(pm.run(config.poll_interval_s, before_sync=feed.reserve_open))
        self._server = GatewayServer(gateway, config.host, config.port)
        await self._server.__aenter__()
        board = await status_bucket(nc.jetstream(), config.layout)
        self._spawn(StatusReporter(board, config.name, "gateway", None, replicas.progress).run())
        log.info(
            "gateway %s on %s: journals replicated to %s, chain folded to block %d",
            config.name,
            self.url,
            replicas.seqs(),
            pm.through,
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.__aexit__(None, None, None)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._commands is not None:
            await self._commands.stop()
        if self._outcome_follower is not None:
            await self._outcome_follower.stop()
        if self._verifier is not None:
            self._verifier.close()
            self._verifier = None
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
        if self._leverage is not None:
            self._leverage.close()
            self._leverage = None

    def _on_event(self, event: Event) -> None:
        if type(event) is Filled:
            assert self._feed is not None
            self._feed.on_fill(event)

    def _spawn(self, body: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(body))
