"""Every service of one exchange in one asyncio process, each restartable from durable
state: the engine from its journal, the settlement runner from its cursor and the
journal, the position manager from the chain, the gateway from the engine; and the
keeper (liquidations, funding, checkpoints, prices), which decides from the chain alone.

    node = Node(deployment, NodeConfig(state_dir=Path("build/state")))
    await node.start()          # node.gateway.url; node.state.journal
    ...
    await node.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect
from perpdex.core.eip712 import ChainId, Eip712Domain, Order, SignedOrder
from perpdex.core.types import Address, MarketId, OrderHash, OrderId, Price, Side
from perpdex.engine.clock import WallClock
from perpdex.engine.commands import ChainCancel, IndexPrice, NewOrder, RejectedFill
from perpdex.engine.config import MarketConfig
from perpdex.engine.errors import CancelReason
from perpdex.engine.events import Event, Filled
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.account_store import AccountStore
from perpdex.gateway.risk import SETTLE_MARGIN_S
from perpdex.gateway.tape import MarketTape
from perpdex.keeper.price_path import PricePoint
from perpdex.keeper.runner import KeeperMode
from perpdex.risk.indexer import ChainIndexer
from perpdex.risk.leverage import LeverageStore
from perpdex.risk.manager import PositionManager
from perpdex.risk.prices import PriceFeed
from perpdex.risk.reservations import reserves_margin
from perpdex.risk.terms import fee_refusal, resting_fee_ppm
from perpdex.services.engine import EngineService, accepted_orders, replay_events
from perpdex.services.gateway import GatewayService
from perpdex.services.keeper import node_keeper
from perpdex.services.risk import CurrentRisk
from perpdex.services.state import ChainState, StateLock, chain_identity, open_chain_state
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.fault import ChainView, at_fault
from perpdex.settlement.outcomes import FillOutcome, Rejected, Settled
from perpdex.settlement.payload import order_hash_of_payload, order_of_payload
from perpdex.settlement.runner import SettledCursor, SettlementRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NodeConfig:
    state_dir: Path
    """The root of the node's state: locked while it runs, one folder per chain identity
    (``services/state.py``)."""
    host: str = "127.0.0.1"
    port: int = 0
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
        self.domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
        self.listed = [MarketId(m.id) for m in deployment.markets]
        self.markets = [MarketConfig(m.id, m.tick_size, m.lot_size) for m in deployment.markets]
        self.lock = StateLock(config.state_dir)
        self._state: ChainState | None = None
        self._engine: EngineService | None = None
        self.gateway = GatewayService(config.host, config.port, config.verify_workers)
        self.risk = CurrentRisk(lambda: self.pm)
        self._pm: PositionManager | None = None
        self._leverage: LeverageStore | None = None
        self._runner: SettlementRunner | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._recent: dict[bytes, Settled] = {}  # see _adopt
        self._moved: set[tuple[Address, MarketId]] = set()  # see _trim_reduce_only
        self._next_expiry_scan = 0.0  # see _cancel_expiring_on_chain
        self._accounts: AccountLog | None = None
        self._tape: MarketTape | None = None
        self.rejected_fills: Counter[str] = Counter()
        """Fills that will never settle, by the chain's or the batcher's reason."""

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

    async def _start(self) -> None:
        web3 = await asyncio.to_thread(self._web3)
        identity = await asyncio.to_thread(chain_identity, web3, self.deployment)
        self._state = open_chain_state(self.config.state_dir, identity)
        self._leverage = LeverageStore(self._state.leverage)
        self._engine = EngineService(
            self._state.journal, self.markets, lambda a, m: self.pm.position(a, m)
        )
        self._pm = await self._new_position_manager()
        self._runner = self._new_runner()
        self._start_engine()
        self._adopt()
        await self._start_gateway()
        self._cancel_unfillable()  # closed or repriced while no node was watching
        self._feed_index()  # the oracle may have moved while no node was watching
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
        )
        self._spawn("keeper", keeper.run())
        log.info(
            "node started on chain %d (Exchange %s): gateway %s, journal %s replayed to seq %d,"
            " %d fills awaiting settlement",
            identity.chain_id,
            identity.exchange,
            self.gateway.url,
            self.state.journal,
            self.engine.sequencer.seq,
            len(self.runner.unsettled()),
        )

    async def stop(self) -> None:
        await self.gateway.stop()
        for name in list(self._tasks):
            await self._cancel(name)
        if self._engine is not None:
            self._engine.stop()
        self._stop_accounts(commit=True)
        if self._leverage is not None:
            self._leverage.close()
            self._leverage = None
        self.lock.release()
        log.info("node stopped")

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
        self._cancel_unfillable()  # the journal may predate a cancel folded since
        self._feed_index()

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
        self._cancel_unfillable()
        self._feed_index()
        self._spawn("position manager", self.pm.run(self.config.poll_interval_s))

    # -- wiring ---------------------------------------------------------------------------

    def _web3(self) -> Web3:
        # one client per worker thread that uses it
        return connect(self.deployment.rpc_url)

    async def _new_position_manager(self) -> PositionManager:
        web3 = await asyncio.to_thread(self._web3)
        contracts = bind(web3, self.deployment)
        indexer = ChainIndexer(
            web3,
            contracts.exchange,
            contracts.markets,
            self.domain,
            self.listed,
            self.deployment.start_block,
        )
        feed = PriceFeed(contracts.markets, self.listed)
        ticks = {MarketId(m.id): Price(m.tick_size) for m in self.deployment.markets}
        pm = PositionManager(indexer, feed, self.domain, self._leverage, ticks)
        await pm.sync()  # rebuilt from the chain alone
        pm.subscribe_nonces(self._cancel_closed_on_chain)
        pm.subscribe_fees(self._cancel_above_fee_cap)
        pm.subscribe_chain_ahead(self._cancel_expiring_on_chain)
        pm.subscribe_unbacked(self._cancel_unbacked)
        pm.subscribe_prices(self._feed_index)
        pm.subscribe_positions(self._follow_chain_positions)
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
            gateway.after_request = self._trim_reduce_only

    def _to_runner(self, event: Event) -> None:
        if self._runner is not None:
            self._runner.on_event(event)

    def _to_pm(self, event: Event) -> None:
        self.pm.on_engine_event(event)
        if isinstance(event, Filled):
            self._moved.add((event.maker_account, event.market))
            self._moved.add((event.taker_account, event.market))

    def _follow_chain_positions(self, moved: set[tuple[Address, MarketId]]) -> None:
        """Positions the chain moved (a liquidation step, a deleveraging, a fill the node
        learns of from the chain) are trimmed as the engine's fills are: a position it
        closed takes its attached take-profit and stop-loss with it at once, rather than
        when one fires for nothing to close."""
        self._moved |= moved
        self._trim_reduce_only()

    def _trim_reduce_only(self) -> None:
        """After a request's fills or a chain fold that moved positions: cancel the
        resting reduce-only orders of the traders whose position moved which their
        position (with the fills not yet settled) no longer covers, oldest first kept.
        The engine sized each against the position when it arrived; another order of the
        trader or a liquidation may have shrunk or flipped it since, and the contract
        would skip such a fill (``REJECT_REDUCE_ONLY``). A position that moved to flat
        also takes its held reduce-only trigger orders (its take-profit and stop-loss,
        one of which may just have closed it) with it. Held ones larger than a position
        that shrank stay: the engine sizes them to the position when it releases them."""
        if not self._moved or not self.engine.running:
            return
        touched, self._moved = self._moved, set()
        books = self.engine.sequencer.engine.markets
        orders: list[tuple[MarketId, OrderId]] = []
        attached: list[tuple[MarketId, OrderId]] = []
        for account, market in sorted(touched):
            book = books.get(market)
            if book is None:
                continue  # listed on chain, not served by this node
            position = self.pm.position(account, market)
            room = {Side.SELL: max(position, 0), Side.BUY: max(-position, 0)}
            for order in book.orders_of(account):
                terms = order.command
                if not terms.reduce_only:
                    continue
                if order.remaining > room[terms.side]:
                    orders.append((market, terms.order_id))
                else:
                    room[terms.side] -= order.remaining
            if position == 0:
                attached += [
                    (market, held.order_id) for held in book.held_of(account) if held.reduce_only
                ]
        self._cancel_open(tuple(orders), CancelReason.REDUCE_ONLY_EXCEEDS_POSITION)
        self._cancel_open(tuple(attached), CancelReason.POSITION_CLOSED)

    def _feed_index(self) -> None:
        """Feed each market's oracle price, as the contract reads it, to the engine as an
        ``IndexPrice`` (journaled) when it differs from the engine's: crossed trigger
        orders are released. A stale price is not fed (the contract would not settle
        on it); fills of the releases then trim and close attached orders as any fills."""
        if not self.engine.running or self._pm is None:
            return
        books = self.engine.sequencer.engine.markets
        for market, quote in sorted(self.pm.quotes.items()):
            book = books.get(market)
            if book is not None and quote.fresh and book.index != quote.price:
                self._submit_from_chain(IndexPrice(market=market, price=quote.price))
        self._trim_reduce_only()

    def _outcome(self, outcome: FillOutcome) -> None:
        if isinstance(outcome, Settled):
            key = outcome.match.maker.order_hash + outcome.match.taker.order_hash
            self._recent[key] = outcome
            self._recent = {k: o for k, o in self._recent.items() if o.block > self.pm.through}
        self.pm.on_outcome(outcome)  # a rejected fill no longer counts as pending
        if isinstance(outcome, Rejected):
            self._report_rejected(outcome)

    # -- what the chain says goes back to the engine (docs/architecture.md) ---------------

    def _cancel_unfillable(self) -> None:
        """Reconcile the whole book with the chain's fold: closed nonces, raised fees."""
        self._cancel_closed_on_chain(None)
        self._cancel_above_fee_cap(None)

    def _cancel_above_fee_cap(self, markets: set[MarketId] | None) -> None:
        """Cancel the resting orders (in ``markets``; None: in all) whose signed fee cap is
        below their market's maker fee now, or below that of a change queued on chain that
        they would rest to see: a resting order only ever fills as the maker, and the
        contract would skip each of its fills (``REJECT_FEE_ABOVE_MAX``). A held trigger
        order enters as a new order when released, so it must still cover every fee its
        time in force may pay, as when it was placed."""
        if not self.engine.running:
            return  # the engine's restart calls this again
        quotes, queued = self.pm.quotes, self.pm.ledger.queued_fees
        books = self.engine.sequencer.engine.markets

        def above_cap(command: NewOrder, order: Order) -> bool:
            quote, change = quotes[command.market], queued.get(command.market)
            if command.order_id in books[command.market].held.orders:
                return fee_refusal(order, quote, change) is not None
            return order.max_fee_ppm < resting_fee_ppm(order, quote, change)

        orders = tuple(
            (command.market, command.order_id)
            for command, signed, _ in self.engine.open_orders(self.domain)
            if (markets is None or command.market in markets)
            and command.market in quotes
            and above_cap(command, signed.order)
        )
        why = "the fee rises above their signed cap"
        self._cancel_open(orders, CancelReason.FEE_ABOVE_CAP, why)

    def _cancel_closed_on_chain(self, traders: set[Address] | None) -> None:
        """Cancel the resting orders (of ``traders``; None: of everyone) whose nonce the
        position manager saw closed on chain: they could never settle."""
        if not self.engine.running:
            return  # the engine's restart calls this again
        nonces = self.pm.ledger.nonces
        orders = self._open_ids(
            traders,
            lambda command: nonces.is_closed(
                command.account, order_of_payload(command.payload).nonce
            ),
        )
        self._cancel_open(orders, CancelReason.ON_CHAIN)

    def _cancel_expiring_on_chain(self, ahead_ms: int) -> None:
        """Cancel the resting orders that the chain's clock, ``ahead_ms`` ahead of the wall
        clock, brings within ``SETTLE_MARGIN_S`` of their signed expiry: the engine's timer
        counts on the wall clock less the lead seen when the order arrived, so a lead that
        grew since comes too late, and the contract would skip their fills
        (``REJECT_EXPIRED``). At most once a second: the margin is 30 s."""
        now = time.monotonic()
        if not self.engine.running or now < self._next_expiry_scan:
            return
        self._next_expiry_scan = now + 1.0
        chain_now_ms = WallClock().now() + ahead_ms
        orders = self._open_ids(
            None,
            lambda command: (
                (order_of_payload(command.payload).expiry - SETTLE_MARGIN_S) * 1000 <= chain_now_ms
            ),
        )
        why = f"the chain's clock, {ahead_ms} ms ahead of this node's, nears their signed expiry"
        self._cancel_open(orders, CancelReason.EXPIRES_ON_CHAIN, why)

    def _cancel_unbacked(self, unbacked: list[SignedOrder]) -> None:
        """Cancel the open orders (resting or held) whose accounts a price, funding or
        collateral move on chain left short of margin for them: each fill would fail the
        contract's end-of-batch margin check (``MarginCheckFailed``) and be dropped."""
        if not self.engine.running:
            return  # the position manager checks again at its next price change
        orders = self._open_with_hash(
            {signed.order.trader for signed in unbacked},
            {signed.order_hash for signed in unbacked},
        )
        why = "their accounts no longer carry them at the chain's prices"
        self._cancel_open(orders, CancelReason.MARGIN_UNCOVERED, why)

    def _report_rejected(self, outcome: Rejected) -> None:
        """Tell both traders, cancel the rest of the order(s) at fault (journaled: the
        command names them, so a replay needs no chain), count and log. The innocent
        side's rest stays: ending it would let a trader pull any resting order for free."""
        match = outcome.match
        maker, taker = match.maker, match.taker
        cause = outcome.reason.value
        self.rejected_fills[cause] += 1
        quote = self.pm.quotes.get(maker.order.market)
        fees = None if quote is None else (quote.maker_fee_ppm, quote.taker_fee_ppm)
        faulty = at_fault(outcome, ChainView(self.pm.ledger.nonces.is_closed, fees))
        # the batcher logs each fill it drops itself, with the error (``outcome.cause``): a
        # warning here is for the contract's skips, so each rejection warns once
        log.log(
            logging.WARNING if outcome.cause is None else logging.INFO,
            "fill rejected (%s%s): market %s, %s at %s, maker %s order %s, taker %s order %s%s;"
            " both traders told, the rest of the %s order cancelled (at fault)",
            cause,
            "" if outcome.account is None else f" for {outcome.account}",
            maker.order.market,
            match.size,
            match.price,
            maker.order.trader,
            maker.order_hash.hex(),
            taker.order.trader,
            taker.order_hash.hex(),
            "" if outcome.tx_hash is None else f", skipped in {outcome.tx_hash}",
            " and ".join("maker" if side is maker else "taker" for side in faulty),
        )
        if not self.engine.running:
            return
        orders = self._open_with_hash(
            {side.order.trader for side in faulty}, {side.order_hash for side in faulty}
        )
        rejected = RejectedFill(
            market=maker.order.market,
            price=match.price,
            size=match.size,
            taker_side=taker.order.side,
            maker_account=maker.order.trader,
            taker_account=taker.order.trader,
            maker_hash=maker.order_hash,
            taker_hash=taker.order_hash,
            cause=cause,
        )
        command = ChainCancel(orders=orders, reason=CancelReason.FILL_REJECTED, rejected=rejected)
        self._submit_from_chain(command)

    def _open_ids(
        self, traders: set[Address] | None, picked: Callable[[NewOrder], bool]
    ) -> tuple[tuple[MarketId, OrderId], ...]:
        """The resting and held orders of ``traders`` (None: of everyone) that ``picked``
        picks, as a :class:`ChainCancel` names them."""
        return tuple(
            (terms.market, terms.order_id)
            for terms, _ in self.engine.open_terms(traders)
            if picked(terms)
        )

    def _open_with_hash(
        self, traders: set[Address], hashes: set[OrderHash]
    ) -> tuple[tuple[MarketId, OrderId], ...]:
        """The resting and held orders of ``traders`` whose signed order's hash is in
        ``hashes``."""
        return self._open_ids(
            traders, lambda command: order_hash_of_payload(command.payload, self.domain) in hashes
        )

    def _cancel_open(
        self,
        orders: tuple[tuple[MarketId, OrderId], ...],
        reason: CancelReason,
        why: str | None = None,
    ) -> None:
        """Cancel ``orders`` through the sequencer (journaled), warning ``why`` if given."""
        if not orders:
            return
        if why is not None:
            log.warning("%d open orders cancelled: %s", len(orders), why)
        self._submit_from_chain(ChainCancel(orders=orders, reason=reason))

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
