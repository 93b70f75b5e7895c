"""The gateway's server, fed by the node's engine events, restartable on the same port."""

from __future__ import annotations

from collections.abc import Iterable

from perpdex.core.eip712 import Eip712Domain, SignedOrder
from perpdex.core.types import Size
from perpdex.engine.commands import NewOrder
from perpdex.engine.events import Event, EventBus
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway.orders import OrderRecord
from perpdex.gateway.risk import RiskCheck
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway


class GatewayService:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: GatewayServer | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def gateway(self) -> Gateway | None:
        return None if self._server is None else self._server.gateway

    def on_event(self, event: Event) -> None:
        """The node's relay: the engine's bus outlives a gateway, so it cannot hold one."""
        if self._server is not None:
            self._server.gateway.feeds.on_event(event)

    async def start(
        self,
        sequencer: Sequencer,
        domain: Eip712Domain,
        risk: RiskCheck,
        open_orders: Iterable[tuple[NewOrder, SignedOrder, Size]],
    ) -> None:
        # events arrive through on_event, not through this bus
        gateway = Gateway(sequencer, EventBus(), domain, risk=risk)
        for command, signed, remaining in open_orders:
            # orders of an earlier gateway stay cancellable and release their reservation
            gateway.registry.add(
                OrderRecord(
                    order_id=command.order_id,
                    market=command.market,
                    signed=signed,
                    client_id=command.client_id,
                    request_id=None,
                    origin=None,
                    remaining=remaining,
                )
            )
        server = GatewayServer(gateway, self.host, self.port)
        await server.__aenter__()
        self.port = server.port  # a restart binds the same port: clients reconnect to it
        self._server = server

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.__aexit__(None, None, None)
