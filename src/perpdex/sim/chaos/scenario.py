"""One chaos run: a chain that outlives the node (anvil, deployed and funded once), the
``perpdex up`` node as a subprocess, the market simulation's bots trading through the SDK,
and the node SIGKILLed ``kills`` times at seeded moments and started again at once.

Then the bots stop, settlement drains (no new ``Filled`` or ``FillRejected`` for
``quiet_s``), the gateway's account views are compared with the contract's, the node is
stopped and the journal read. :mod:`.metrics` turns the evidence into the invariants.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from web3.contract import Contract

from perpdex.audit.audit import audit_deployment
from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Role, write_deployment
from perpdex.cli.up import fresh_deployment
from perpdex.core.signing import SigningKey
from perpdex.core.types import Address, MarketId, OrderHash
from perpdex.risk.from_chain import engine_markets
from perpdex.sdk.gateway_http import discover_http_url
from perpdex.sdk.keys import Wallet
from perpdex.settlement.outcomes import FillKey
from perpdex.sim.cascade.chain import Setup
from perpdex.sim.chaos.evidence import (
    AckedClient,
    account_differences,
    chain_outcomes,
    journal_evidence,
    record_stream,
)
from perpdex.sim.chaos.memory import MemorySample, directory_bytes, tree_sample
from perpdex.sim.chaos.metrics import ChainFill, ChainRejection, JournalFill, Received
from perpdex.sim.chaos.node import NodeProcess
from perpdex.sim.market.scenario import MARKET, BotParams, Bots, Traders

log = logging.getLogger(__name__)

QUIET_S: Final = 8.0
"""Settlement has drained when the chain shows no new outcome for this long (the node
settles every 0.2 s; a batch is mined within a block or two)."""
DRAIN_TIMEOUT_S: Final = 120.0
VIEWS_TIMEOUT_S: Final = 30.0
"""The gateway's view may trail the chain's head by a fold; it must catch up by then."""
STOP_TIMEOUT_S: Final = 30.0
"""For the bots to stop, and the maker to cancel its quotes."""
MIN_UP_S: Final = 2.0
"""A restarted node serves at least this long before the next kill (the bots reconnect)."""


@dataclass(frozen=True, slots=True)
class ChaosParams(BotParams):
    """The bots of ``perpdex sim market`` (fewer, busier, on a calmer walk), seeded; the
    seed also places the kills."""

    takers: int = 3
    crowd: int = 2
    taker_interval_s: float = 0.3
    volatility_ppm: int = 300
    kills: int = 3
    duration_s: float = 40.0
    """Trading time; the kills fall at seeded moments inside it."""
    sample_s: float | None = None
    """Sample the node's memory this often (the soak); None: never."""

    def kill_moments(self) -> list[float]:
        """Seconds into the trading at which the node is killed (seeded, sorted)."""
        rng = random.Random(self.seed)
        return sorted(rng.uniform(0.1, 0.8) * self.duration_s for _ in range(self.kills))


@dataclass
class Evidence:
    acked: list[OrderHash]
    """Every order the gateway acknowledged to a bot (placed, or amended to)."""
    received: dict[Address, Received]
    settled: list[ChainFill]
    rejected: list[ChainRejection]
    journaled: set[OrderHash]
    """Every signed order the journal holds as taken by the engine."""
    journal: dict[FillKey, JournalFill]
    differences: list[str]
    kills: list[float] = field(default_factory=list)
    """Seconds into the trading of each kill done."""
    audit: dict[str, Any] = field(default_factory=dict)
    """``perpdex audit --json`` of the journal, the chain and the bots' receipts."""
    restarts: list[float] = field(default_factory=list)
    """Seconds from each kill to the restarted gateway listening."""
    memory: list[MemorySample] = field(default_factory=list)
    bots: dict[str, dict[str, int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def run_chaos(params: ChaosParams) -> Evidence:
    started = time.monotonic()
    with Anvil() as anvil, tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        deployment = fresh_deployment(anvil.rpc_url)
        deployment_file = write_deployment(deployment, work / "deployment.json")
        setup = Setup.of(anvil.rpc_url, deployment, MARKET)
        traders = Traders.of(params, setup.market)
        setup.deposit(traders.deposits())
        anvil.set_block_time(params.block_time)
        node = NodeProcess(
            anvil.rpc_url,
            deployment_file,
            work / "state",
            work,
            _free_port(),
            extra=(
                *("--random-walk", str(params.seed)),
                *("--volatility-ppm", str(params.volatility_ppm)),
            ),
            http_port=_free_port(),
        )
        node.start()
        log.info("node started (pid %s), gateway %s", node.pid, node.url)
        try:
            evidence = asyncio.run(_trade(params, setup, traders, node, work))
        finally:
            node.stop()
        assert node.journal is not None, "perpdex up printed no journal path"
        markets = engine_markets(deployment)
        log.info("node stopped; reading the journal %s", node.journal)
        evidence.journaled, evidence.journal = journal_evidence(node.journal, markets, setup.domain)
        # anyone's audit of what the node published, with the receipts the bots' clients kept
        receipts = work / "nonces" / "receipts"
        audit = audit_deployment(deployment, str(node.journal), receipts=receipts)
        evidence.audit = audit.as_json()
        evidence.timings["total_s"] = time.monotonic() - started
        return evidence


async def _trade(
    params: ChaosParams,
    setup: Setup,
    traders: Traders,
    node: NodeProcess,
    work: Path,
) -> Evidence:
    url = node.url
    assert url is not None

    clients: list[AckedClient] = []

    def client(key: SigningKey) -> AckedClient:
        wallet = Wallet.from_private_key(key.secret)
        clients.append(AckedClient(url, wallet, setup.deployment, state_dir=work / "nonces"))
        return clients[-1]

    bots = Bots.of(params, setup.market, traders, client)
    received = {bot.client.address: Received() for bot in bots.all}
    evidence = Evidence(
        acked=[],
        received=received,
        settled=[],
        rejected=[],
        journaled=set(),
        journal={},
        differences=[],
    )
    async with contextlib.AsyncExitStack() as stack:
        for bot in bots.all:
            await stack.enter_async_context(bot.client)
        recorders = [
            asyncio.create_task(record_stream(await bot.client.account(), received[address]))
            for bot, address in zip(bots.all, received, strict=True)
        ]
        tasks = [asyncio.create_task(bot.run()) for bot in bots.all]
        begun = time.monotonic()
        sampler = asyncio.create_task(_sample(params, node, begun, evidence.memory))
        try:
            await _kill_and_restart(params, node, begun, tasks, evidence)
        finally:
            log.info("trading over; stopping the bots")
            await _stopped([*tasks, sampler])
        async with asyncio.timeout(STOP_TIMEOUT_S):  # not wait_for: see sdk.client._call
            await bots.maker.withdraw()
        stopped = time.monotonic()
        log.info("bots stopped; waiting for settlement to drain")
        exchange = setup.contracts.exchange
        start = setup.deployment.start_block
        evidence.settled, evidence.rejected = await _drained(exchange, start)
        drained = time.monotonic()
        log.info("drained; comparing the gateway's views with the chain")
        keeper = setup.deployment.wallet(Role.KEEPER).address
        accounts = [*received, keeper]
        evidence.differences = await _views_match(node, setup, accounts)
        for recorder in recorders:
            recorder.cancel()
        await asyncio.gather(*recorders, return_exceptions=True)
    evidence.acked = [order_hash for c in clients for order_hash in c.acked]
    evidence.bots = {name: bots.counts(name) for name in ("sent", "refused", "unanswered")}
    evidence.timings |= {"trade_s": stopped - begun, "drain_s": drained - stopped}
    return evidence


async def _stopped(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel ``tasks``; one still running after ``STOP_TIMEOUT_S`` is a harness bug: its
    stack is logged and the run goes on without it."""
    for task in tasks:
        task.cancel()
    _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
    for task in pending:
        stack = io.StringIO()
        task.print_stack(file=stack)
        log.error("a task ignored its cancellation:\n%s", stack.getvalue())


async def _kill_and_restart(
    params: ChaosParams,
    node: NodeProcess,
    begun: float,
    tasks: Sequence[asyncio.Task[None]],
    evidence: Evidence,
) -> None:
    """Trade for ``duration_s``, killing and restarting the node at the seeded moments (a
    moment that passed during a restart waits ``MIN_UP_S``); a bot that fails ends it."""
    up_since = time.monotonic()
    for moment in params.kill_moments():
        due = max(begun + moment, up_since + MIN_UP_S)
        await _watch(tasks, due)
        node.kill()
        killed = time.monotonic()
        evidence.kills.append(round(killed - begun, 2))
        await asyncio.to_thread(node.start)
        up_since = time.monotonic()
        evidence.restarts.append(up_since - killed)
        log.info("node killed and restarted (%d of %d)", len(evidence.kills), params.kills)
    await _watch(tasks, max(begun + params.duration_s, up_since + MIN_UP_S))


async def _watch(tasks: Sequence[asyncio.Task[None]], until: float) -> None:
    while time.monotonic() < until:
        for task in tasks:
            if task.done():
                task.result()  # raises what the bot raised
                raise RuntimeError(f"a bot stopped: {task.get_name()}")
        await asyncio.sleep(0.1)


async def _sample(
    params: ChaosParams, node: NodeProcess, begun: float, into: list[MemorySample]
) -> None:
    if params.sample_s is None:
        return
    while True:
        pid = node.pid
        if pid is not None:
            sample = tree_sample(pid)
            # a restarted node is a new series
            rss = {f"{name}#{node.starts}": value for name, value in sample.items()}
            disk = await asyncio.to_thread(directory_bytes, node.state_dir)
            into.append(MemorySample(round(time.monotonic() - begun, 1), rss, disk))
        await asyncio.sleep(params.sample_s)


async def _drained(exchange: Contract, start: int) -> tuple[list[ChainFill], list[ChainRejection]]:
    """The chain's outcomes once none has come for ``QUIET_S``."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    outcomes = await asyncio.to_thread(chain_outcomes, exchange, start)
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < QUIET_S and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        now = await asyncio.to_thread(chain_outcomes, exchange, start)
        if (len(now[0]), len(now[1])) != (len(outcomes[0]), len(outcomes[1])):
            outcomes, quiet_since = now, time.monotonic()
    return outcomes


async def _views_match(node: NodeProcess, setup: Setup, accounts: Sequence[Address]) -> list[str]:
    """The gateway's account views against the contract's at the head, until they agree or
    ``VIEWS_TIMEOUT_S`` passed (then the last differences)."""
    assert node.url is not None
    http = await asyncio.to_thread(discover_http_url, node.url)
    listed = [MarketId(m.id) for m in setup.deployment.markets]
    deadline = time.monotonic() + VIEWS_TIMEOUT_S

    def head() -> int:
        return setup.web3.eth.block_number

    while True:
        block = await asyncio.to_thread(head)
        found = await account_differences(http, setup.contracts.exchange, accounts, listed, block)
        if not found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
