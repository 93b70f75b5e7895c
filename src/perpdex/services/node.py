"""Every service of one exchange in one asyncio process, each restartable from durable
state: the engine from its journal, the settlement runner from its cursor and the
journal, the position manager from the chain, the gateway from the engine; and the
keeper (liquidations, funding, checkpoints, prices), which decides from the chain alone.

    node = Node(deployment, NodeConfig(state_dir=Path("build/state")))
    await node.start()          # node.gateway.url, node.http.url; node.state.journal
    ...
    await node.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from web3 import Web3
from web3.exceptions import Web3Exception

from perpdex import webapp
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect
from perpdex.core.types import MarketId
from perpdex.engine.commands import ChainCancel, IndexPrice
from perpdex.engine.events import Event
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.account_store import AccountStore
from perpdex.gateway.receipts import receipt_key
from perpdex.gateway.tape import MarketTape
from perpdex.http.app import create_app
from perpdex.http.chain_status import ChainStatus
from perpdex.http.operator_log import OperatorLog
from perpdex.http.server import HttpServer
from perpdex.http.sources import Progress, Sources
from perpdex.keeper.price_path import PricePoint
from perpdex.keeper.runner import KeeperAction, KeeperMode
from perpdex.risk.from_chain import deployment_domain, engine_markets, position_manager_from_chain
from perpdex.risk.leverage import LeverageStore
from perpdex.risk.manager import PositionManager
from perpdex.risk.reservations import reserves_margin
from perpdex.services.engine import EngineService, accepted_orders, replay_events
from perpdex.services.gateway import GatewayService
from perpdex.services.keeper import node_keeper
from perpdex.services.open_orders import Books
from perpdex.services.reconcile import ChainReconciler
from perpdex.services.risk import CurrentRisk
from perpdex.services.state import ChainState, StateLock, chain_identity, open_chain_state
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.outcomes import FillOutcome, Rejected, Settled
from perpdex.settlement.runner import SettledCursor, SettlementRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NodeConfig:
    state_dir: Path
    """The root of the node's state: locked while it runs, one folder per chain identity
    (``services/state.py``)."""
    host: str = "127.0.0.1"
    port: int = 0
    """The gateway's WebSocket port (0: any free one)."""
    http_port: int = 0
    """The HTTP API's port (0: any free one)."""
    chain_status_interval_s: float = 1.0
    """How often the HTTP API reads prices, funding and the chain head (``http/chain_status``)."""
    verify_workers: int = 1
    """Processes recovering order signers beside the gateway's loop (0: on the loop)."""
    poll_interval_s: float = 0.2
    settle_interval_s: float = 0.2
    checkpoint_interval_s: float = 10.0
    keeper_interval_s: float = 1.0
    """The keeper's price pushes and liquidator polls."""
    price_paths: Mapping[MarketId, Iterable[PricePoint]] = field(default_factory=dict)
    """Prices the keeper pushes to the mock oracles; none: prices stay put."""
    keeper_mode: KeeperMode = "hold"
    """``hedge``: the keeper sells what it took over on this node's gateway."""


class Node:
    def __init__(self, deployment: Deployment, config: NodeConfig) -> None:
        self.deployment = deployment
        self.config = config
        self.domain = deployment_domain(deployment)
        self.listed = [MarketId(m.id) for m in deployment.markets]
        self.markets = engine_markets(deployment)
        self.lock = StateLock(config.state_dir)
        self._state: ChainState | None = None
        self._engine: EngineService | None = None
        self.receipt_key = receipt_key(deployment)
        """Signs the receipt of every order the gateway acknowledges."""
        self.gateway = GatewayService(
            config.host, config.port, config.verify_workers, self.receipt_key
        )
        self.risk = CurrentRisk(lambda: self.pm)
        self._pm: PositionManager | None = None
        self._leverage: LeverageStore | None = None
        self._runner: SettlementRunner | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._recent: dict[bytes, Settled] = {}  # see _adopt
        self.reconciler = ChainReconciler(
            self.domain, self._books, lambda: self._pm, self._submit_from_chain
        )
        self._accounts: AccountLog | None = None
        self._tape: MarketTape | None = None
        self.chain_status = ChainStatus(deployment, config.chain_status_interval_s)
        self.operator = OperatorLog()
        app = create_app(self._sources(), mounts=[self._web_app])
        self.http = HttpServer(app, config.host, config.http_port)

    @property
    def state(self) -> ChainState:
        """This chain's folder under the state root (journal, cursor, identity)."""
        assert self._state is not None, "the node is not started"
        return self._state

    @property
    def engine(self) -> EngineService:
        assert self._engine is not None, "the node is not started"
        return self._engine

    @property
    def pm(self) -> PositionManager:
        assert self._pm is not None, "the position manager is not running"
        return self._pm

    @property
    def accounts(self) -> AccountLog:
        assert self._accounts is not None, "the engine is not running"
        return self._accounts

    @property
    def runner(self) -> SettlementRunner:
        assert self._runner is not None, "the settlement runner is not running"
        return self._runner

    @property
    def tasks(self) -> Mapping[str, asyncio.Task[None]]:
        """The node's loops by name (position manager, settlement, keeper)."""
        return self._tasks

    # -- the whole node -------------------------------------------------------------------

    async def start(self) -> None:
        """Own the state root (:class:`StateDirLockedError` if another node does), then
        start every service from this chain's state (:class:`ChainIdentityError` if the
        deployment is not on the chain it is served from)."""
        self.lock.acquire()
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    def _check_receipt_signer(self, web3: Web3) -> None:
        """Traders check receipts against the Checkpoints operator: warn if the keeper,
        which signs them, is not it (a deployment whose operator posts checkpoints itself)."""
        checkpoints = bind(web3, self.deployment).checkpoints
        try:
            operator = checkpoints.functions.operator().call()
        except Web3Exception as error:  # the keeper's checkpoint task will say more
            log.warning("cannot read the Checkpoints operator: %s", error)
            return
        signer = self.receipt_key.key.address
        if operator != signer:
            log.warning(
                "receipts are signed by the keeper %s but the Checkpoints operator is %s:"
                " traders will refuse them (set the keeper as the operator)",
                signer,
                operator,
            )

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        web3 = await asyncio.to_thread(self._web3)
        identity = await asyncio.to_thread(chain_identity, web3, self.deployment)
        await asyncio.to_thread(self._check_receipt_signer, web3)
        self._state = open_chain_state(self.config.state_dir, identity)
        self._leverage = LeverageStore(self._state.leverage)
        self._engine = EngineService(
            self._state.journal, self.markets, lambda a, m: self.pm.position(a, m)
        )
        self._pm = await self._new_position_manager()
        self._runner = self._new_runner()
        await self.http.start()  # first: the gateway announces its URL
        self.gateway.web_url = self.http.url
        self._start_engine()
        self._adopt()
        await self._start_gateway()
        self.reconciler.cancel_unfillable()  # closed or repriced while no node was watching
        self.reconciler.feed_index()  # the oracle may have moved while no node was watching
        self._spawn("position manager", self.pm.run(self.config.poll_interval_s))
        self._spawn("settlement", self.runner.run(self.config.settle_interval_s))
        config = self.config
        keeper = node_keeper(
            self.deployment,
            self.engine,
            lambda: self.pm,
            config.price_paths,
            config.keeper_interval_s,
            config.checkpoint_interval_s,
            mode=config.keeper_mode,
            gateway_url=self.gateway.url,
            on_action=self._keeper_acted,
        )
        self._spawn("keeper", keeper.run())
        self._spawn("chain status", self.chain_status.run())
        log.info(
            "node started on chain %d (Exchange %s): gateway %s, HTTP API %s, journal %s"
            " replayed to seq %d, %d fills awaiting settlement",
            identity.chain_id,
            identity.exchange,
            self.gateway.url,
            self.http.url,
            self.state.journal,
            self.engine.sequencer.seq,
            len(self.runner.unsettled()),
        )

    async def stop(self) -> None:
        await self.http.stop()
        await self.gateway.stop()
        for name in list(self._tasks):
            await self._cancel(name)
        self.chain_status.close()
        if self._engine is not None:
            self._engine.stop()
        self._stop_accounts(commit=True)
        if self._leverage is not None:
            self._leverage.close()
            self._leverage = None
        self.lock.release()
        log.info("node stopped")

    # -- what the HTTP API reads -----------------------------------------------------------

    def _sources(self) -> Sources:
        return Sources(
            deployment=self.deployment,
            gateway=lambda: self.gateway.gateway,
            positions=lambda: self._pm,
            journal=lambda: self._engine.journal_path if self._engine is not None else None,
            progress=self._progress,
            chain=self.chain_status,
            operator=self.operator,
        )

    def _web_app(self, app: FastAPI) -> None:
        """The trading page and the dashboard beside the API."""
        webapp.mount(app, self._served)

    def _served(self) -> Deployment:
        """The deployment as this node serves it (the web app's pages read its URLs)."""
        return replace(self.deployment, gateway_url=self.gateway.url, web_url=self.http.url)

    def _progress(self) -> Progress:
        engine = self._engine
        running = engine is not None and engine.running
        services = {
            "engine": running,
            "gateway": self.gateway.gateway is not None,
            "http": self.http.running,
            **{name: not task.done() for name, task in self._tasks.items()},
        }
        return Progress(
            services=services,
            journal_seq=engine.sequencer.seq if engine is not None and running else None,
            durable_seq=engine.sequencer.durable_seq if engine is not None and running else None,
            settled_seq=None if self._runner is None else self._runner.cursor.seq,
            folded_block=None if self._pm is None else self._pm.through,
        )

    def _keeper_acted(self, action: KeeperAction) -> None:
        """The keeper's worker thread: the operator log is the loop's."""
        assert self._loop is not None, "the node is not started"
        self._loop.call_soon_threadsafe(self.operator.keeper_action, action)

    # -- restarts (each from durable state only) ------------------------------------------

    async def restart_engine(self, *, crash: bool = False) -> None:
        """The engine and the gateway on top of it (its registry is the engine's book)."""
        log.warning("restarting the engine%s", " after a crash (unflushed commands lost)" * crash)
        await self.gateway.stop()
        self.engine.stop(flush=not crash)
        self._stop_accounts(commit=not crash)
        self.runner.forget_unsettled()
        self._start_engine()
        self._adopt()
        await self._start_gateway()
        self.reconciler.cancel_unfillable()  # the journal may predate a cancel folded since
        self.reconciler.feed_index()

    async def restart_gateway(self) -> None:
        log.warning("restarting the gateway on port %d", self.gateway.port)
        await self.gateway.stop()
        await self._start_gateway()

    async def restart_settlement(self) -> None:
        log.warning("restarting the settlement runner from its cursor and the journal")
        await self._cancel("settlement")
        self.engine.sequencer.flush()  # the replay below must see every fill emitted
        self._runner = self._new_runner()
        replay_events(self.engine.journal_path, self.engine.markets, self._to_runner)
        self._spawn("settlement", self.runner.run(self.config.settle_interval_s))

    async def restart_position_manager(self) -> None:
        log.warning("restarting the position manager from the chain")
        await self._cancel("position manager")
        self._pm = await self._new_position_manager()
        self._adopt()
        self.reconciler.cancel_unfillable()
        self.reconciler.feed_index()
        self._spawn("position manager", self.pm.run(self.config.poll_interval_s))

    # -- wiring ---------------------------------------------------------------------------

    def _web3(self) -> Web3:
        # one client per worker thread that uses it
        return connect(self.deployment.rpc_url)

    async def _new_position_manager(self) -> PositionManager:
        pm = await position_manager_from_chain(self.deployment, self._leverage)
        self.reconciler.watch(pm)
        return pm

    def _new_runner(self) -> SettlementRunner:
        operator = self.deployment.wallet(Role.OPERATOR).account()

        def make_batcher() -> Batcher:
            web3 = self._web3()
            exchange = bind(web3, self.deployment).exchange
            return Batcher(web3, exchange, operator, from_block=self.deployment.start_block)

        cursor = SettledCursor(self.state.cursor)
        runner = SettlementRunner(
            make_batcher, self.domain, cursor, lambda: self.engine.sequencer.durable_seq
        )
        runner.subscribe(self._outcome)
        runner.subscribe_reports(self.operator.settlement)
        return runner

    def _start_engine(self) -> None:
        """The engine from its journal, and the account log and the tape caught up with it."""
        engine = self.engine
        accounts = AccountLog(AccountStore(self.state.accounts), self.domain)
        self._tape = MarketTape(self.listed, engine.now_ms)
        try:
            engine.start(
                replayed=[self._to_runner, accounts.on_event, self._tape.on_event],
                live=[self._to_pm],
            )
            accounts.caught_up(engine.sequencer.seq)
        except BaseException:
            accounts.close(commit=False)
            raise
        self._accounts = accounts

    def _stop_accounts(self, *, commit: bool) -> None:
        accounts, self._accounts = self._accounts, None
        if accounts is not None:
            accounts.close(commit=commit)

    def _adopt(self) -> None:
        """Hand the current position manager what only the journal knows: fills waiting
        for settlement (and those settled after the block it folded), and open orders."""
        pm = self.pm
        recent = [o for o in self._recent.values() if o.block > pm.through]
        pm.adopt(
            [*self.runner.unsettled(), *(o.match for o in recent)],
            [
                (signed, size)
                for _, signed, size in self.engine.open_orders(self.domain)
                if reserves_margin(signed.order)
            ],
        )
        for outcome in recent:
            pm.on_outcome(outcome)

    async def _start_gateway(self) -> None:
        engine = self.engine
        engine.sequencer.flush()  # the journal on disk must hold every accepted order
        accepted = accepted_orders(engine.journal_path, engine.markets, self.domain)
        assert self._tape is not None, "the engine is not running"
        await self.gateway.start(
            engine.sequencer,
            engine.bus,
            self.domain,
            self.risk,
            accepted,
            self.accounts,
            self._tape,
        )
        gateway = self.gateway.gateway
        if gateway is not None:
            gateway.after_request = self.reconciler.trim_reduce_only

    def _to_runner(self, event: Event) -> None:
        if self._runner is not None:
            self._runner.on_event(event)

    def _to_pm(self, event: Event) -> None:
        self.pm.on_engine_event(event)
        self.reconciler.on_engine_event(event)

    def _outcome(self, outcome: FillOutcome) -> None:
        if isinstance(outcome, Settled):
            key = outcome.match.maker.order_hash + outcome.match.taker.order_hash
            self._recent[key] = outcome
            self._recent = {k: o for k, o in self._recent.items() if o.block > self.pm.through}
        self.pm.on_outcome(outcome)  # a rejected fill no longer counts as pending
        if isinstance(outcome, Rejected):
            self.reconciler.report_rejected(outcome)

    def _books(self) -> Books | None:
        engine = self._engine
        return engine.sequencer.engine.markets if engine is not None and engine.running else None

    def _submit_from_chain(self, command: ChainCancel | IndexPrice) -> None:
        gateway = self.gateway.gateway
        if gateway is not None:
            gateway.submit_from_chain(command)  # its frames go out with the next release
        else:
            self.engine.sequencer.submit(command)
            self.engine.sequencer.flush()

    def _spawn(self, name: str, body: Coroutine[Any, Any, None]) -> None:
        self._tasks[name] = asyncio.create_task(body, name=name)

    async def _cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
