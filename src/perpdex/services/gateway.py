"""The gateway's server on the engine's bus, restartable on the same port."""

from __future__ import annotations

from collections.abc import Iterable

from perpdex.core.eip712 import Eip712Domain, SignedOrder
from perpdex.engine.events import EventBus
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.receipts import ReceiptKey, make_signer
from perpdex.gateway.risk import RiskCheck
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway
from perpdex.gateway.tape import MarketTape
from perpdex.gateway.verify import Verifier, make_verifier


class GatewayService:
    """``verify_workers`` processes recover order signers (0: on the event loop); with
    ``receipts``, every acknowledged order gets a receipt signed with it (in a process of
    its own when there are verify workers, else on the loop)."""

    def __init__(
        self, host: str, port: int, verify_workers: int, receipts: ReceiptKey | None = None
    ) -> None:
        self.host = host
        self.port = port
        self._verify_workers = verify_workers
        self._receipts = receipts
        self.web_url: str | None = None
        """The node's HTTP API, announced to plain HTTP requests on the gateway's port."""
        self._server: GatewayServer | None = None
        self._bus: EventBus | None = None
        self._verifier: Verifier | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def gateway(self) -> Gateway | None:
        return None if self._server is None else self._server.gateway

    async def start(
        self,
        sequencer: Sequencer,
        bus: EventBus,
        domain: Eip712Domain,
        risk: RiskCheck,
        accepted: Iterable[SignedOrder],
        accounts: AccountLog,
        tape: MarketTape,
    ) -> None:
        """A gateway on the running engine: ``bus`` is the engine's, ``accepted`` every
        order the engine took before (from its journal), ``accounts`` the log and ``tape``
        the trades and candles on its bus."""
        verifier = make_verifier(domain, self._verify_workers)
        signer = (
            None
            if self._receipts is None
            else make_signer(self._receipts, worker=self._verify_workers > 0)
        )
        gateway = Gateway(
            sequencer,
            bus,
            domain,
            risk=risk,
            verifier=verifier,
            accounts=accounts,
            tape=tape,
            receipts=signer,
        )
        gateway.adopt_open_orders()
        gateway.remember_accepted(accepted)
        server = GatewayServer(gateway, self.host, self.port, web_url=self.web_url)
        try:
            await server.__aenter__()
        except BaseException:
            bus.unsubscribe(gateway.feeds.on_event)
            accounts.detach()
            verifier.close()
            gateway.close_receipts()
            raise
        self.port = server.port  # a restart binds the same port: clients reconnect to it
        self._server, self._bus, self._verifier = server, bus, verifier

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            assert self._bus is not None
            await server.__aexit__(None, None, None)
            # detached only once closed: closing sessions may cancel orders, whose events
            # release reservations; the engine and its bus outlive this gateway
            self._bus.unsubscribe(server.gateway.feeds.on_event)
            server.gateway.accounts.detach()
            server.gateway.close_receipts()
        verifier, self._verifier = self._verifier, None
        if verifier is not None:
            verifier.close()
