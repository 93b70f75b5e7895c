"""One market run on a fresh anvil: deploy (the demo deployment of ``perpdex up``), fund the
bots, start the whole node with the keeper in hedge mode and the oracle on the walk-crash-walk
path, let the bots trade through the gateway, then stop them, wait for settlement to drain
and compare the position manager with the contract.

The clock that decides when to stop is the run's own: ``crash_at_s + after_s`` seconds
after the node starts (the oracle pusher starts with it), or, given ``fills``, as soon as
the engine has matched that many (``perpdex bench settle``).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from perpdex.bots.ladder import MakerSpec
from perpdex.bots.maker import MarketMaker
from perpdex.bots.taker import RandomTaker, TakerSpec
from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment, ListedMarket, Role
from perpdex.cli.up import fresh_deployment
from perpdex.core.signing import SigningKey
from perpdex.core.types import Address, MarketId, Size
from perpdex.core.units import to_collateral_units
from perpdex.risk.prices import PriceFeed
from perpdex.risk.verify import differences
from perpdex.sdk.client import Client
from perpdex.services.node import Node, NodeConfig
from perpdex.sim.cascade.chain import Setup, trader_key
from perpdex.sim.cascade.scenario import TraderSpec, traders
from perpdex.sim.market.crowd import CrowdSpec, LeveragedLong
from perpdex.sim.market.hedges import HedgeTape
from perpdex.sim.market.latency import SettlementLatency
from perpdex.sim.market.observer import Observer
from perpdex.sim.market.path import PathSpec, market_path

MARKET: Final = "BTC-PERP"
MAKER_USDC: Final = 5_000_000
TAKER_USDC: Final = 100_000
INSURANCE_USDC: Final = 20_000
"""Seeded into the insurance fund (the demo deployment starts it at 0), as the cascade."""
DRAIN_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class BotParams:
    """The bots and the chain they trade on (``perpdex sim chaos`` runs them too)."""

    seed: int = 1
    block_time: int = 1
    """Seconds per block; 0: anvil mines each transaction at once."""
    takers: int = 4
    crowd: int = 8
    volatility_ppm: int = 500
    """The oracle's seeded random walk: its step, per second."""
    taker_interval_s: float = 0.5
    maker: MakerSpec = field(default_factory=MakerSpec)


@dataclass(frozen=True, slots=True)
class MarketParams(BotParams):
    crash_ppm: int = 80_000
    crash_at_s: float = 20.0
    """Seconds after the node starts; the crowd has long built its positions by then."""
    after_s: float = 15.0
    """Trading goes on this long after ``crash_at_s`` (the crash, liquidations, hedges)."""
    fills: int | None = None
    """Stop once the engine has matched this many fills instead (the settle benchmark)."""


@dataclass(frozen=True, slots=True)
class ChainFigures:
    liquidations: int
    full_closures: int
    accounts_liquidated: int
    insurance_draw: int
    """Collateral units."""
    keeper_taken_over: Size
    """Size units the keeper took over in liquidations (absolute, summed)."""
    keeper_position: Size
    """The keeper's signed position at the end, on chain."""


@dataclass
class MarketRun:
    params: MarketParams
    started: float
    """Monotonic clock time the node (and the oracle pusher) started."""
    latency: SettlementLatency
    hedges: HedgeTape
    observer: Observer
    orders: dict[str, int]
    refused: dict[str, int]
    chain: ChainFigures
    differences: list[str]
    timings: dict[str, float]


@dataclass(frozen=True, slots=True)
class Traders:
    """The bots' keys (seeded) and the crowd's books."""

    maker: SigningKey
    takers: list[SigningKey]
    crowd: list[tuple[SigningKey, TraderSpec]]

    @classmethod
    def of(cls, params: BotParams, market: ListedMarket) -> Traders:
        def key(index: int) -> SigningKey:
            return trader_key(params.seed, index, "market")

        books = traders(params.crowd, params.seed, market.index_price, market.lot_size)
        return cls(
            key(0),
            [key(1 + i) for i in range(params.takers)],
            [(key(-1 - i), book) for i, book in enumerate(books)],
        )

    def deposits(self) -> list[tuple[str, int]]:
        return [
            (self.maker.address, to_collateral_units(MAKER_USDC)),
            *((key.address, to_collateral_units(TAKER_USDC)) for key in self.takers),
            *((key.address, book.collateral) for key, book in self.crowd),
        ]


@dataclass
class Bots:
    maker: MarketMaker
    takers: list[RandomTaker]
    crowd: list[LeveragedLong]

    @classmethod
    def of(
        cls,
        params: BotParams,
        market: ListedMarket,
        traders_: Traders,
        client: Callable[[SigningKey], Client],
    ) -> Bots:
        taker = TakerSpec(to_collateral_units(TAKER_USDC), mean_interval_s=params.taker_interval_s)
        return cls(
            MarketMaker(client(traders_.maker), market, params.maker, params.seed),
            [
                RandomTaker(client(key), market, taker, params.seed * 1_000 + i)
                for i, key in enumerate(traders_.takers)
            ],
            [LeveragedLong(client(key), market, book, CrowdSpec()) for key, book in traders_.crowd],
        )

    @property
    def all(self) -> list[MarketMaker | RandomTaker | LeveragedLong]:
        return [self.maker, *self.takers, *self.crowd]

    def counts(self, attribute: str) -> dict[str, int]:
        return {
            "maker": getattr(self.maker, attribute),
            "takers": sum(getattr(b, attribute) for b in self.takers),
            "crowd": sum(getattr(b, attribute) for b in self.crowd),
        }


AfterDrain = Callable[[Node, Deployment], None]
"""Run in a worker thread once settlement has drained, the node still up (an audit)."""


def run_market(params: MarketParams, after_drain: AfterDrain | None = None) -> MarketRun:
    started = time.monotonic()
    with Anvil() as anvil, tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        deployment = fresh_deployment(anvil.rpc_url)
        setup = Setup.of(anvil.rpc_url, deployment, MARKET)
        traders_ = Traders.of(params, setup.market)
        setup.deposit(traders_.deposits())
        setup.fund_insurance(to_collateral_units(INSURANCE_USDC))
        if params.block_time:
            anvil.set_block_time(params.block_time)
        deployed = time.monotonic()
        run = asyncio.run(_trade(params, setup, traders_, work, after_drain))
        run.timings["deploy_s"] = deployed - started
        return run


async def _trade(
    params: MarketParams,
    setup: Setup,
    traders_: Traders,
    work: Path,
    after_drain: AfterDrain | None = None,
) -> MarketRun:
    deployment, market = setup.deployment, setup.market
    path = PathSpec(
        market.index_price,
        market.tick_size,
        params.seed,
        params.crash_ppm,
        params.crash_at_s,
        volatility_ppm=params.volatility_ppm,
    )
    config = NodeConfig(
        state_dir=work / "node",
        keeper_mode="hedge",
        price_paths={MarketId(market.id): market_path(path)},
    )
    node = Node(deployment, config)
    keeper = deployment.wallet(Role.KEEPER).address
    latency = SettlementLatency(node.domain)
    hedges = HedgeTape(keeper)
    await node.start()
    started = time.monotonic()
    try:
        node.engine.bus.subscribe(latency.on_event)
        node.engine.bus.subscribe(hedges.on_event)
        node.runner.subscribe(latency.on_outcome)

        def client(key: SigningKey, *, login: bool = True) -> Client:
            return Client.connect(
                node.gateway.url, key.secret, deployment, state_dir=work / "nonces", login=login
            )

        bots = Bots.of(params, market, traders_, client)
        observer = Observer(client(traders_.maker, login=False), market)
        async with contextlib.AsyncExitStack() as stack:
            for bot in bots.all:
                await stack.enter_async_context(bot.client)
            await stack.enter_async_context(observer.client)
            runs = [*(bot.run() for bot in bots.all), observer.run()]
            tasks = [asyncio.create_task(body) for body in runs]
            try:
                await _until_done(params, started, latency, tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            await bots.maker.withdraw()
        stopped = time.monotonic()
        await _drained(node, setup, latency)
        found = _compare(node, setup, [*(bot.client.address for bot in bots.all), keeper])
        figures = _chain_figures(setup, keeper)
        drained = time.monotonic()
        if after_drain is not None:
            await asyncio.to_thread(after_drain, node, deployment)
    finally:
        await node.stop()
    return MarketRun(
        params=params,
        started=started,
        latency=latency,
        hedges=hedges,
        observer=observer,
        orders={**bots.counts("sent"), "keeper_hedges": hedges.orders},
        refused={**bots.counts("refused"), "keeper_hedges": len(hedges.refused)},
        chain=figures,
        differences=found,
        timings={"trade_s": stopped - started, "drain_s": drained - stopped},
    )


async def _until_done(
    params: MarketParams,
    started: float,
    latency: SettlementLatency,
    tasks: Sequence[asyncio.Task[None]],
) -> None:
    """Until the run's time is up (or its fills are matched); a bot that fails ends it."""
    deadline = started + params.crash_at_s + params.after_s
    while latency.fills < params.fills if params.fills is not None else time.monotonic() < deadline:
        for task in tasks:
            if task.done():
                task.result()  # raises what the bot raised
                raise RuntimeError(f"a bot stopped: {task.get_name()}")
        await asyncio.sleep(0.1)


async def _drained(node: Node, setup: Setup, latency: SettlementLatency) -> None:
    """Every matched fill has an outcome and the position manager has folded the chain's
    head with nothing pending."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S

    async def until(condition: Callable[[], bool], what: str) -> None:
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"settlement did not drain: {what}")
            await asyncio.sleep(0.05)

    await until(lambda: latency.waiting() == 0 and not node.runner.unsettled(), "fills waiting")
    head = await asyncio.to_thread(lambda: setup.web3.eth.block_number)
    await until(lambda: node.pm.through >= head and not len(node.pm.pending), "the fold")


def _compare(node: Node, setup: Setup, traders_: Sequence[Address]) -> list[str]:
    """The fold against the views at the block it reached; on the loop, so the position
    manager cannot move on meanwhile."""
    pm = node.pm
    # the prices at the folded block, read here: the manager reads its own a turn later
    quotes = PriceFeed(setup.contracts.markets, node.listed).read(pm.through)
    exchange = setup.contracts.exchange
    return differences(pm.ledger, exchange, traders_, node.listed, quotes, pm.through)


def _chain_figures(setup: Setup, keeper: Address) -> ChainFigures:
    liquidated = setup.events("Liquidated")
    taken = sum(
        abs(int(e["args"]["size"])) for e in liquidated if e["args"]["liquidator"] == keeper
    )
    position = setup.contracts.exchange.functions.position(keeper, setup.market.id)
    size, *_ = position.call()
    return ChainFigures(
        liquidations=len(liquidated),
        full_closures=sum(1 for e in liquidated if e["args"]["full"]),
        accounts_liquidated=len({e["args"]["trader"] for e in liquidated}),
        insurance_draw=sum(int(e["args"]["amount"]) for e in setup.events("InsuranceDrawn")),
        keeper_taken_over=Size(taken),
        keeper_position=Size(size),
    )
