"""The keeper process: its tasks as asyncio loops, each tick run in a worker thread (web3 is
blocking), each loop surviving any error of its tick (a node away, a reverted transaction)
by logging it and trying again after a back-off.

    keeper = Keeper(deployment, signer, KeeperConfig(tasks=frozenset({"liquidator"})))
    await keeper.run()          # until cancelled

Every task shares one :class:`~perpdex.keeper.transactions.Sender` (one key, one nonce
sequence). The liquidator wakes on every price the oracle pusher writes, and polls the
prices every ``interval_s`` otherwise.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar

from eth_account.signers.local import LocalAccount
from web3 import Web3

from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment
from perpdex.chain.transact import RPC_TIMEOUT_SECONDS
from perpdex.core.types import EMBEDDED_SHARD, MarketId, Price, ShardId
from perpdex.keeper.accounts import AccountSource, ChainAccounts, FoldedAccounts, Scan
from perpdex.keeper.chain import KeeperChain
from perpdex.keeper.checkpoint import Checkpointer, JournalReader, JournalSource
from perpdex.keeper.funding import BookSource, FundingPoster, GatewayBooks, Posted
from perpdex.keeper.hedge import Hedger
from perpdex.keeper.liquidator import Action, Liquidator
from perpdex.keeper.oracle_pusher import OraclePusher, Pushed
from perpdex.keeper.param_changes import ParamsApplier
from perpdex.keeper.price_path import PricePoint
from perpdex.keeper.transactions import Sender
from perpdex.logs import report_failure, report_recovery
from perpdex.sdk.client import Client
from perpdex.sdk.gateway_errors import OrderRejectedError

log = logging.getLogger(__name__)

KeeperAction = Action | Posted | Pushed
"""A keeper transaction that was mined: a liquidation step or deleveraging, a funding
post, an oracle push (``Keeper(on_action=...)`` hears of each)."""

_Acted = TypeVar("_Acted", bound=KeeperAction)
_T = TypeVar("_T")

TASKS: Final = ("liquidator", "funding", "oracle", "checkpoint", "params")
KeeperMode = Literal["hold", "hedge"]
"""What the liquidator does with positions it took over (docs/keeper.md)."""
MAX_BACKOFF_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class KeeperConfig:
    tasks: frozenset[str] = frozenset(TASKS)
    interval_s: float = 1.0
    """The oracle pusher's and the liquidator's polling period."""
    funding_tick_s: float = 5.0
    """How often the funding task samples the books (and checks whether a post is due)."""
    checkpoint_interval_s: float = 10.0
    params_tick_s: float = 10.0
    """How often the params task looks for a due parameter change."""
    journal: Path | None = None
    """The engine's journal, for the checkpoint task."""
    mode: KeeperMode = "hold"
    gateway_url: str | None = None
    """ws://host:port of a gateway: the books for funding (from the node's HTTP API, which
    the gateway names) and the book to hedge on."""
    price_paths: Mapping[MarketId, Iterable[PricePoint]] = field(default_factory=dict)


def guarded(name: str, tick: Callable[[], object]) -> bool:
    """Run one tick; an error is logged, never raised: the loop tries again later. A tick
    whose read of the event loop was cancelled (``LoopBooks``, ``ManagerScan``: the loop's
    tasks are cancelled as the process stops) is cut short, not failed."""
    try:
        tick()
    except concurrent.futures.CancelledError:
        log.info("keeper %s tick cut short: the process is stopping", name)
        return False
    except Exception as error:
        report_failure(log, guarded, f"keeper {name} tick", error)
        return False
    report_recovery(log, guarded, f"keeper {name} tick")
    return True


async def tick_in_thread(tick: Callable[[], _T]) -> _T:
    """``tick()`` in a worker thread. Cancelled, it waits for the tick to return before the
    cancel goes on: a stopping process closes next what the tick uses (a journal's
    connection), and a tick left running beside that close could wait on it for ever."""
    running = asyncio.ensure_future(asyncio.to_thread(tick))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait([running])
        raise


class Keeper:
    def __init__(
        self,
        deployment: Deployment,
        signer: LocalAccount,
        config: KeeperConfig,
        *,
        books: BookSource | None = None,
        scan: Scan | None = None,
        journals: Mapping[ShardId, JournalReader] | None = None,
        on_action: Callable[[KeeperAction], None] | None = None,
    ) -> None:
        """``books``: the book mids for funding (default: the gateway's HTTP reads);
        ``scan``: the liquidator's scan from a fold of the chain (default: chain views);
        ``journals``: each engine shard's journal to checkpoint (cluster mode; default: the
        config's journal file, shard 0)."""
        unknown = config.tasks - set(TASKS)
        if unknown:
            raise ValueError(f"unknown keeper tasks: {', '.join(sorted(unknown))}")
        if config.mode == "hedge" and config.gateway_url is None:
            raise ValueError("hedge mode needs a gateway (--gateway) to close positions on")
        self.deployment = deployment
        self.config = config
        # not `connect()`: the node may be down at start; the loops retry until it answers
        self.web3 = Web3(
            Web3.HTTPProvider(deployment.rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_SECONDS})
        )
        contracts = bind(self.web3, deployment)
        listed = [MarketId(m.id) for m in deployment.markets]
        oracles = {MarketId(m.id): contracts.oracles[m.symbol] for m in deployment.markets}
        self.sender = Sender(self.web3, signer)
        self.chain = KeeperChain(contracts, self.sender, oracles, listed)
        self.accounts = ChainAccounts(self.web3, contracts.exchange, listed, deployment.start_block)
        source: AccountSource = self.accounts
        if scan is not None:
            source = FoldedAccounts(scan, self.accounts, self._prices)
        self.liquidator = Liquidator(source, self.chain)
        self.pusher = OraclePusher(self.chain, config.price_paths, listeners=[self._on_price])
        self.params = ParamsApplier(self.chain, listed)
        if books is None and config.gateway_url is not None:
            books = GatewayBooks(config.gateway_url)
        self.funding = None if books is None else FundingPoster(self.chain, books, listed)
        sources: Mapping[ShardId, JournalSource] = (
            journals
            if journals is not None
            else ({} if config.journal is None else {EMBEDDED_SHARD: config.journal})
        )
        self.checkpointers = [
            Checkpointer(self.web3, contracts.checkpoints, signer, source, shard=shard)
            for shard, source in sorted(sources.items())
        ]
        self._signer = signer
        self._on_action = on_action
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def checkpoint(self) -> None:
        """Every shard's head, in turn."""
        # the checkpointer sends with its own nonce lookup: no other keeper send meanwhile
        with self.sender.exclusive():
            for checkpointer in self.checkpointers:
                checkpointer.sync()

    def _prices(self) -> dict[MarketId, Price]:
        return {market: quote.price for market, quote in self.chain.quotes().items()}

    async def run(self) -> None:
        """Every configured task until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        tasks = self.config.tasks
        loops = []
        if "oracle" in tasks:
            loops.append(
                self._every("oracle", self._told(self.pusher.tick), self.config.interval_s)
            )
        if "liquidator" in tasks:
            loops.append(self._liquidate())
        if "funding" in tasks:
            if self.funding is None:
                raise ValueError("the funding task needs a book: pass --gateway")
            loops.append(
                self._every("funding", self._told(self.funding.tick), self.config.funding_tick_s)
            )
        if "params" in tasks:
            loops.append(self._every("params", self.params.tick, self.config.params_tick_s))
        if "checkpoint" in tasks:
            if not self.checkpointers:
                raise ValueError("the checkpoint task needs the journal: pass --journal")
            loops.append(
                self._every("checkpoint", self.checkpoint, self.config.checkpoint_interval_s)
            )
        await asyncio.gather(*loops)

    def _told(self, tick: Callable[[], Sequence[_Acted]]) -> Callable[[], Sequence[_Acted]]:
        """``tick``, whose mined actions are also handed to ``on_action`` (in the tick's
        worker thread)."""

        def told() -> Sequence[_Acted]:
            actions = tick()
            if self._on_action is not None:
                for action in actions:
                    self._on_action(action)
            return actions

        return told

    def _on_price(self, block: int) -> None:
        """The pusher's callback (in its worker thread): wake the liquidator now."""
        self.liquidator.on_price(block)
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _every(self, name: str, tick: Callable[[], object], interval_s: float) -> None:
        failures = 0
        while True:
            ok = await tick_in_thread(functools.partial(guarded, name, tick))
            failures = 0 if ok else failures + 1
            await asyncio.sleep(_delay(interval_s, failures))

    async def _liquidate(self) -> None:
        assert self._wake is not None
        hedger = None
        async with contextlib.AsyncExitStack() as stack:
            if self.config.mode == "hedge":
                assert self.config.gateway_url is not None
                client = Client.connect(self.config.gateway_url, self._signer.key, self.deployment)
                hedger = Hedger(await stack.enter_async_context(client), self.deployment.markets)
            failures = 0
            hedging = False
            while True:
                self._wake.clear()
                actions = await tick_in_thread(self._liquidator_tick)
                failures = 0 if actions is not None else failures + 1
                if hedger is not None and (hedging or actions):
                    hedging = await self._hedge(hedger)
                # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that
                # arrives as the wake comes, and the keeper's stop then waits for ever
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_delay(self.config.interval_s, failures)):
                        await self._wake.wait()

    def _liquidator_tick(self) -> list[Action] | None:
        """The liquidator's tick, guarded: None if it failed."""
        actions: list[Action] = []
        ok = guarded("liquidator", lambda: actions.extend(self._told(self.liquidator.tick)()))
        return actions if ok else None

    async def _hedge(self, hedger: Hedger) -> bool:
        """Send the hedges of what the keeper holds on chain; True while it holds anything
        (or the attempt failed): the next tick hedges again, until the keeper is flat.

        A hedge can come too early: the gateway clips a reduce-only order to the position
        the position manager knows, and it may not have folded the liquidation's block yet
        (the engine then refuses the order), or a hedge's fill may not be settled yet (the
        order is clipped to what is left). Both resolve within a tick or two."""
        try:
            own = await asyncio.to_thread(self.accounts.account, self.chain.keeper)
            if not own.positions:
                return False
            quotes = await asyncio.to_thread(self.chain.quotes)
            await hedger.hedge(own.positions, {m: q.price for m, q in quotes.items()})
        except OrderRejectedError as error:
            log.info("keeper hedge refused (%s); trying again next tick", error.reason)
        except Exception:
            log.exception("keeper hedge failed")
        return True


def _delay(interval_s: float, failures: int) -> float:
    backoff: float = interval_s * 2**failures
    return min(backoff, max(MAX_BACKOFF_S, interval_s))
