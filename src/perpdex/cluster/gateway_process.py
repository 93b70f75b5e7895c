"""``perpdex gateway``: a gateway of cluster mode, the embedded node's gateway with its
sequencer replaced by the engine shards' command stream
(:class:`~perpdex.cluster.gateway_commands.JetStreamCommands`).

It keeps no state that outlives it. On start it folds the chain into a position manager of
its own (the pre-trade check), then follows every settlement outcome and rebuilds a replica
of every shard from the journals, as the HTTP reader does
(:class:`~perpdex.cluster.replicated_gateway.ReplicatedGateway`). It serves only once all
of that caught up, so its first check already sees every shard's open orders and
unsettled fills.
Two gateways run side by side on two ports (docs/architecture.md, cluster mode).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client

from perpdex.chain.deployment import Deployment
from perpdex.cluster.gateway_commands import WAIT_S, JetStreamCommands
from perpdex.cluster.replicated_gateway import ReplicatedGateway
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import connect
from perpdex.gateway.receipts import ReceiptSigner, make_signer, receipt_key
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway
from perpdex.gateway.verify import Verifier, make_verifier
from perpdex.risk.from_chain import engine_markets
from perpdex.risk.leverage import LeverageStore
from perpdex.risk.manager import PositionManager

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
    """Where this gateway caches the traders' leverage caps (None: in memory); every
    gateway shares them through JetStream (``cluster/leverage_board.py``)."""
    verify_workers: int = 1
    poll_interval_s: float = 0.2
    wait_s: float = WAIT_S
    """How long an answer waits for the replica to apply its command."""
    web_url: str | None = None
    """The HTTP API (a reader) that plain HTTP requests to the gateway are pointed at."""


class GatewayProcess:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self._replicated: ReplicatedGateway[JetStreamCommands] = ReplicatedGateway(
            config.deployment, config.layout, config.name, "gateway", config.poll_interval_s
        )
        self.domain = self._replicated.domain
        self._markets = engine_markets(config.deployment)
        self._nc: Client | None = None
        self._server: GatewayServer | None = None
        self._verifier: Verifier | None = None
        self._leverage: LeverageStore | None = None

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
        return self._replicated.commands

    async def start(self) -> None:
        config = self.config
        self._nc = nc = await connect(
            config.nats, name=config.name, buffer_while_reconnecting=False
        )
        if config.state_dir is not None:
            config.state_dir.mkdir(parents=True, exist_ok=True)
            self._leverage = LeverageStore(config.state_dir / "leverage.sqlite")
        self._verifier = make_verifier(self.domain, config.verify_workers)
        replicated = self._replicated
        await replicated.start(
            nc,
            self._commands,
            leverage=self._leverage,
            verifier=self._verifier,
            receipts=self._receipt_signer(),
        )
        self._server = GatewayServer(
            replicated.gateway, config.host, config.port, web_url=config.web_url
        )
        await self._server.__aenter__()
        await replicated.report(nc)
        log.info(
            "gateway %s on %s: journals replicated to %s, chain folded to block %d",
            config.name,
            self.url,
            replicated.commands.replicas.seqs(),
            replicated.pm.through,
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.__aexit__(None, None, None)
        await self._replicated.stop()
        if self._verifier is not None:
            self._verifier.close()
            self._verifier = None
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
        if self._leverage is not None:
            self._leverage.close()
            self._leverage = None

    def _receipt_signer(self) -> ReceiptSigner | None:
        """The receipts' signer (the ``Checkpoints`` operator's key, the keeper's), None if
        this machine's deployment file does not hold it: its orders then get no receipts."""
        try:
            key = receipt_key(self.config.deployment)
        except ValueError as error:
            log.warning("no receipts: %s", error)
            return None
        return make_signer(key, worker=self.config.verify_workers > 0)

    def _commands(self, pm: PositionManager) -> JetStreamCommands:
        config = self.config
        assert self._nc is not None, "connected first"
        return JetStreamCommands(
            self._nc,
            config.layout,
            self._markets,
            self.domain,
            name=config.name,
            positions=pm.position,
            wait_s=config.wait_s,
        )
