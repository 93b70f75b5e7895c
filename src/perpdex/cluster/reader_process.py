"""``perpdex reader``: the market-data / HTTP reader of cluster mode, the embedded node's
HTTP API (``perpdex.http``) and web app served from replicas of every shard.

It builds what a cluster gateway builds (:class:`~perpdex.cluster.replicated_gateway.
ReplicatedGateway`: a position manager folded from the chain, a replica of every shard
from the journals, the outcomes of settlement) over a sink that takes no commands
(:class:`~perpdex.cluster.replica_commands.ReplicaCommands`), and hands it to the API
through its ``Sources``: books, trades and candles from the replicas, accounts from the
position manager, open orders and history from the replicas' account log, prices and
funding from its own reads of the chain. It accepts no orders (it has no WebSocket port;
the web page sends them to ``gateway_url``), keeps no state that outlives it, and serves
only once every replica caught up, so a restarted reader answers what the one before did.

``/journal?shard=K`` pages shard K's journal from its JetStream stream, read-only and
checked against the hash chain (``cluster.journal_pages``): ``perpdex audit --journal URL
--shard K`` audits it.
``/health`` names each replica's journal seq and lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from fastapi import FastAPI
from nats.aio.client import Client

from perpdex import webapp
from perpdex.chain.deployment import Deployment
from perpdex.cluster.journal_pages import StreamJournalPages
from perpdex.cluster.replica_commands import ReplicaCommands
from perpdex.cluster.replicated_gateway import ReplicatedGateway
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.tasks import Tasks
from perpdex.cluster.transport import connect
from perpdex.gateway.server import TICK_INTERVAL_S
from perpdex.gateway.service import Gateway
from perpdex.http.app import create_app
from perpdex.http.chain_status import ChainStatus
from perpdex.http.journal_pages import ShardJournal
from perpdex.http.operator_log import OperatorLog
from perpdex.http.server import HttpServer
from perpdex.http.sources import Progress, ShardProgress, Sources
from perpdex.risk.from_chain import engine_markets
from perpdex.risk.manager import PositionManager

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReaderConfig:
    deployment: Deployment
    nats: Sequence[str]
    layout: StreamLayout
    name: str = "reader"
    """Its record on the status board."""
    host: str = "127.0.0.1"
    port: int = 0
    gateway_url: str | None = None
    """Where the web page sends orders (default: the deployment file's)."""
    poll_interval_s: float = 0.2
    chain_status_interval_s: float = 1.0


class ReaderProcess:
    def __init__(self, config: ReaderConfig) -> None:
        self.config = config
        deployment = config.deployment
        self._replicated: ReplicatedGateway[ReplicaCommands] = ReplicatedGateway(
            deployment, config.layout, config.name, "reader", config.poll_interval_s
        )
        self._markets = engine_markets(deployment)
        self._nc: Client | None = None
        self.chain_status = ChainStatus(deployment, config.chain_status_interval_s)
        sources = Sources(
            deployment=deployment,
            gateway=self._gateway,
            positions=self._positions,
            journal=lambda: None,
            progress=self._progress,
            chain=self.chain_status,
            operator=OperatorLog(),
            shard_journal=self._shard_journal,
        )
        self.http = HttpServer(create_app(sources, [self._web_app]), config.host, config.port)
        self._tasks = Tasks()
        self._journals: dict[int, StreamJournalPages] = {}

    @property
    def url(self) -> str:
        return self.http.url

    async def start(self) -> None:
        config = self.config
        self._nc = nc = await connect(config.nats, name=config.name)
        self._journals = {
            shard: StreamJournalPages(nc, config.layout, shard)
            for shard in config.layout.all_shards
        }
        self._tasks.spawn(self.chain_status.run())
        replicated = self._replicated
        await replicated.start(nc, self._commands)
        self._tasks.spawn(self._tick(replicated.gateway))
        await self.http.start()
        await replicated.report(nc)
        log.info(
            "reader on %s: journals replicated to %s, chain folded to block %d",
            self.url,
            replicated.commands.replicas.seqs(),
            replicated.pm.through,
        )

    async def stop(self) -> None:
        await self.http.stop()
        await self._tasks.cancel()
        self.chain_status.close()
        await self._replicated.stop()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    # -- what the API reads ---------------------------------------------------------------

    def _gateway(self) -> Gateway | None:
        replicated = self._replicated
        return replicated.gateway if replicated.started else None

    def _positions(self) -> PositionManager | None:
        replicated = self._replicated
        return replicated.pm if replicated.started else None

    def _shard_journal(self, shard: int) -> ShardJournal | None:
        return self._journals.get(shard)

    def _progress(self) -> Progress:
        replicated = self._replicated
        if not replicated.started:
            return Progress({"replicas": False, "http": self.http.running}, None, None, None, None)
        followers = replicated.commands.replicas.followers
        return Progress(
            services={
                **{f"replica-{shard}": f.failed is None for shard, f in enumerate(followers)},
                "position manager": replicated.folding,
                "http": self.http.running,
            },
            journal_seq=None,  # one per shard: ``shards``
            durable_seq=None,
            settled_seq=None,
            folded_block=replicated.pm.through,
            shards=[ShardProgress(shard, f.head.seq, f.lag) for shard, f in enumerate(followers)],
        )

    def _web_app(self, app: FastAPI) -> None:
        webapp.mount(app, self._served)

    def _served(self) -> Deployment:
        """The deployment as the web app's pages read it: orders to the gateway, reads here."""
        deployment = self.config.deployment
        gateway_url = self.config.gateway_url or deployment.gateway_url
        return replace(deployment, gateway_url=gateway_url, web_url=self.http.url)

    # -- helpers --------------------------------------------------------------------------

    def _commands(self, pm: PositionManager) -> ReplicaCommands:
        assert self._nc is not None, "connected first"
        config = self.config
        return ReplicaCommands(self._nc, config.layout, self._markets, self._replicated.domain)

    async def _tick(self, gateway: Gateway) -> None:
        """What a gateway's server does between requests: forget closed orders."""
        while True:
            await asyncio.sleep(TICK_INTERVAL_S)
            gateway.tick()
