"""The keeper on a real anvil: leveraged positions settled from real signed orders, a price
drop pushed by the oracle pusher, tiered liquidations (and deleveraging) by the liquidator,
funding once per interval across a restart, and survival of a dead node."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import ChainContracts, bind, demo_wallets, deploy
from perpdex.chain.deployment import Deployment, ListedMarket, Role
from perpdex.chain.param_changes import advance_to, apply_after_delay, restamp_feeds
from perpdex.chain.transact import send
from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    sign_order,
)
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import MarginMode, MarketId, Price, Size, TimeInForce
from perpdex.core.units import (
    from_price_units,
    to_collateral_units,
    to_price_units,
    to_size_units,
)
from perpdex.keeper.funding import FundingPoster
from perpdex.keeper.liquidator import Action, Deleveraged, Liquidated
from perpdex.keeper.price_path import load_path
from perpdex.keeper.runner import Keeper, KeeperConfig, guarded
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import Settled

DAY = 86_400
T = TypeVar("T")
_ids = itertools.count()


@dataclass
class Chain:
    anvil: Anvil
    web3: Web3
    deployment: Deployment
    contracts: ChainContracts
    admin: LocalAccount
    keeper: LocalAccount
    domain: Eip712Domain

    @classmethod
    def of(cls, anvil: Anvil, deployment: Deployment) -> Chain:
        web3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
        return cls(
            anvil=anvil,
            web3=web3,
            deployment=deployment,
            contracts=bind(web3, deployment),
            admin=deployment.wallet(Role.ADMIN).account(),
            keeper=deployment.wallet(Role.KEEPER).account(),
            domain=Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange),
        )

    def market(self, symbol: str) -> ListedMarket:
        return self.deployment.market(symbol)

    def new_keeper(self, deployment: Deployment | None = None) -> Keeper:
        """A keeper process as ``perpdex keeper`` builds it (a restart is a new one)."""
        return Keeper(deployment or self.deployment, self.keeper, KeeperConfig())

    def deposit(self, address: str, usdc: str) -> None:
        amount = to_collateral_units(usdc)
        collateral, exchange = self.contracts.collateral, self.contracts.exchange
        send(self.web3, self.admin, collateral.functions.faucet(self.admin.address, amount))
        send(self.web3, self.admin, collateral.functions.approve(exchange.address, amount))
        send(self.web3, self.admin, exchange.functions.deposit_for(address, amount))

    def trader(self, usdc: str) -> SigningKey:
        key = SigningKey(keccak256(f"keeper test {next(_ids)}".encode()))
        self.deposit(key.address, usdc)
        return key

    def order(self, key: SigningKey, market: ListedMarket, is_buy: bool, size: Size) -> SignedOrder:
        order = Order(
            trader=key.address,
            market=market.id,
            is_buy=is_buy,
            size=size,
            limit_price=self.price(market),
            max_fee_ppm=FeePpm(market.taker_fee_ppm),
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=UnixTime(self.web3.eth.get_block("latest")["timestamp"] + DAY),
            nonce=Nonce(next(_ids)),
        )
        return sign_order(order, key, self.domain)

    def trade(self, seller: SigningKey, buyer: SigningKey, symbol: str, amount: str) -> None:
        """The buyer takes the seller's resting order at the index price, settled on chain
        by the operator."""
        market, size = self.market(symbol), to_size_units(amount)
        match = Match(
            maker=self.order(seller, market, False, size),
            taker=self.order(buyer, market, True, size),
            price=self.price(market),
            size=size,
        )
        operator = self.deployment.wallet(Role.OPERATOR).account()
        batcher = Batcher(
            self.web3,
            self.contracts.exchange,
            operator,
            from_block=self.deployment.start_block,
        )
        (outcome,) = batcher.settle([match]).outcomes
        assert isinstance(outcome, Settled)

    def price(self, market: ListedMarket) -> Price:
        price, _ = self.contracts.markets.functions.price(market.id).call()
        return Price(price)

    def size(self, trader: str, symbol: str) -> int:
        size, *_ = self.contracts.exchange.functions.position(trader, self.market(symbol).id).call()
        return int(size)

    def above_maintenance(self, trader: str) -> bool:
        equity, _, maintenance = self.contracts.exchange.functions.cross_health(trader).call()
        return bool(equity >= maintenance)


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    # a node of its own: waiting out PARAMS_DELAY moves the chain's clock two days ahead,
    # which would expire the orders that other test files sign on the shared node
    with Anvil() as anvil:
        chain = Chain.of(anvil, deploy(anvil.rpc_url, demo_wallets(anvil.accounts)))
        chain.deposit(chain.keeper.address, "1000000")  # the liquidator's margin
        yield chain


@contextlib.contextmanager
def mining_by_hand(chain: Chain) -> Iterator[None]:
    """Blocks only when the test mines one: transactions sent together share a block (with
    one block per transaction, latency in blocks would count transactions), and whatever
    the keeper sends before the test mines lands in that block however slowly it is sent.
    After: what is left in the pool is mined, and then one block per transaction."""
    chain.anvil.mine_by_hand()
    try:
        yield
    finally:
        chain.anvil.mine()
        chain.anvil.set_block_time(None)


WAIT_S = 60.0
"""How long the keeper may take to send what a block calls for: a bound on a hang, not a
speed target (those are measured: docs/performance.md)."""


def in_pool(chain: Chain) -> int:
    """The keeper's transactions sent and not mined."""
    eth, keeper = chain.web3.eth, chain.keeper.address
    return eth.get_transaction_count(keeper, "pending") - eth.get_transaction_count(keeper)


def mine_once_sent(chain: Chain, count: int, running: Future[object]) -> int:
    """Mine the next block once the keeper has ``count`` transactions in the pool (while it
    waits for them); returns its number."""
    deadline = time.monotonic() + WAIT_S
    while (sent := in_pool(chain)) < count:
        assert not running.done(), f"the keeper returned with {sent} of {count} sent"
        assert time.monotonic() < deadline, f"the keeper waits with {sent} of {count} sent"
        time.sleep(0.02)
    assert sent == count, f"the keeper sent {sent} transactions, not {count}"
    chain.anvil.mine()
    return int(chain.web3.eth.block_number)


def mine_until_done(chain: Chain, running: Future[T]) -> T:
    """Mine whatever else the keeper sends until it returns; its result."""
    deadline = time.monotonic() + WAIT_S
    while not running.done():
        assert time.monotonic() < deadline, "the keeper does not return"
        if in_pool(chain):
            chain.anvil.mine()
        time.sleep(0.02)
    return running.result()


def liquidated_events(chain: Chain, trader: str) -> list[dict[str, object]]:
    events = chain.contracts.exchange.events.Liquidated().get_logs(
        from_block=chain.deployment.start_block, argument_filters={"trader": trader}
    )
    return [dict(event["args"]) for event in events]


def test_a_price_drop_is_liquidated_in_tiers_in_the_next_block(chain: Chain) -> None:
    """The keeper sends every first step on the tick that reads the price, before awaiting
    any, so they all land in the block after the price's. Blocks are mined by hand, the
    next only once the keeper has sent what the price calls for: no race with the wall
    clock. (Under one-second blocks that is one block of latency when the keeper is quick
    enough: ``perpdex sim cascade`` measures it, docs/performance.md.)"""
    maker = chain.trader("1000000")
    longs = [chain.trader("10000") for _ in range(2)]
    for trader in longs:
        chain.trade(maker, trader, "BTC-PERP", "1.8")  # 18x
    keeper = chain.new_keeper()
    assert keeper.liquidator.tick() == []  # all above maintenance at 100,000

    def drop() -> list[Action]:
        keeper.pusher.push(MarketId(0), to_price_units("97000"))  # -3%: below maintenance
        return keeper.liquidator.tick()

    with ThreadPoolExecutor(1) as pool, mining_by_hand(chain):
        running = pool.submit(drop)
        price_block = mine_once_sent(chain, 1, running)  # the oracle's answer
        # Markets.record_price, sent without waiting, and one first step per long
        steps_block = mine_once_sent(chain, 1 + len(longs), running)
        actions = mine_until_done(chain, running)

    assert steps_block == price_block + 1
    assert {action.target.trader for action in actions} == {t.address for t in longs}
    assert all(isinstance(action, Liquidated) for action in actions)
    assert [(s.price_block, s.block) for s in keeper.liquidator.latencies] == [
        (price_block, steps_block)
    ] * len(longs)
    taken = 0
    for trader in longs:
        assert chain.above_maintenance(trader.address)
        left = chain.size(trader.address, "BTC-PERP")
        assert 0 < left < to_size_units("1.8")  # a partial step, not the whole position
        (event,) = liquidated_events(chain, trader.address)
        assert event["full"] is False and event["liquidator"] == chain.keeper.address
        taken += to_size_units("1.8") - left
    assert chain.size(chain.keeper.address, "BTC-PERP") == taken  # held
    assert keeper.liquidator.tick() == []  # nothing left to do


def test_a_bankruptcy_beyond_the_insurance_fund_is_deleveraged(chain: Chain) -> None:
    maker, broke = chain.trader("100000"), chain.trader("1000")
    chain.trade(maker, broke, "ETH-PERP", "6")  # 18x
    keeper = chain.new_keeper()
    keeper.pusher.push(MarketId(1), to_price_units("2400"))  # -20%: equity about -2,600
    assert chain.contracts.exchange.functions.insurance_fund().call() < 2_600 * 10**6

    actions = keeper.liquidator.tick()

    assert [type(a) for a in actions] == [Deleveraged]
    assert isinstance(actions[0], Deleveraged) and actions[0].counterparty == maker.address
    assert chain.size(broke.address, "ETH-PERP") == 0
    assert chain.size(maker.address, "ETH-PERP") == 0
    (event,) = chain.contracts.exchange.events.Deleveraged().get_logs(
        from_block=chain.deployment.start_block
    )
    assert event["args"]["trader"] == broke.address


def test_funding_posts_once_per_interval_across_a_restart(chain: Chain) -> None:
    btc = chain.market("BTC-PERP")
    markets = chain.contracts.markets
    send(chain.web3, chain.admin, markets.functions.set_funding_params(btc.id, 60, 500_000))
    apply_after_delay(
        chain.web3,
        chain.admin,
        markets,
        btc.id,
        feeds=chain.contracts.oracles.values(),
        feed_owner=chain.keeper,
    )
    index = chain.price(btc)
    books = StaticBooks({MarketId(btc.id): Price(index + index // 2_000)})  # +0.05%

    def poster() -> FundingPoster:
        return FundingPoster(chain.new_keeper().chain, books, [MarketId(btc.id)])

    first = poster()
    (posted,) = first.tick()
    assert posted.rate == 500_000  # 0.05% at FUNDING_RATE_SCALE 1e9: the cap exactly
    assert first.tick() == []
    assert poster().tick() == []  # a restarted keeper reads last_posted from the chain
    chain.web3.provider.make_request("evm_increaseTime", [61])  # type: ignore[arg-type]
    chain.web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert len(poster().tick()) == 1
    events = chain.contracts.markets.events.FundingPosted().get_logs(
        from_block=chain.deployment.start_block, argument_filters={"market": btc.id}
    )
    assert [event["args"]["rate"] for event in events] == [500_000, 500_000]


def test_an_announced_parameter_change_is_applied_by_the_keeper_once_due(chain: Chain) -> None:
    eth = chain.market("ETH-PERP")
    markets = chain.contracts.markets
    fraction, penalty, share, _ = markets.functions.liquidation(eth.id).call()
    change = markets.functions.set_liquidation_params(eth.id, fraction, penalty, share, 10**9)
    send(chain.web3, chain.admin, change)
    effective_at = markets.functions.pending_at(eth.id).call()
    keeper = chain.new_keeper()
    assert keeper.params.tick() == []  # announced, not due
    assert markets.functions.liquidation(eth.id).call()[3] != 10**9
    advance_to(chain.web3, effective_at)
    restamp_feeds(chain.web3, chain.keeper, chain.contracts.oracles.values())
    assert keeper.params.tick() == [eth.id]
    assert markets.functions.liquidation(eth.id).call()[3] == 10**9
    assert keeper.params.tick() == []  # nothing left queued
    (applied,) = markets.events.LiquidationParamsChanged().get_logs(
        from_block=chain.web3.eth.block_number, argument_filters={"market": eth.id}
    )
    assert applied["args"]["min_partial_notional"] == 10**9


def test_a_dead_node_is_survived_until_it_answers(chain: Chain) -> None:
    dead = replace(chain.deployment, rpc_url="http://127.0.0.1:9")
    keeper = chain.new_keeper(dead)
    books = StaticBooks({MarketId(0): None})
    funding = FundingPoster(keeper.chain, books, [MarketId(0)])
    assert not guarded("liquidator", keeper.liquidator.tick)
    assert not guarded("funding", funding.tick)
    keeper.web3.provider = Web3.HTTPProvider(chain.anvil.rpc_url)  # the node is back
    assert guarded("liquidator", keeper.liquidator.tick)
    assert guarded("funding", funding.tick)


@dataclass
class StaticBooks:
    mids: dict[MarketId, Price | None]

    def mid(self, market: MarketId) -> Price | None:
        return self.mids[market]


def test_the_keeper_process_pushes_a_price_path_and_liquidates(
    chain: Chain, tmp_path: Path
) -> None:
    maker, trader = chain.trader("1000000"), chain.trader("10000")
    chain.trade(maker, trader, "BTC-PERP", "1.8")
    now = chain.price(chain.market("BTC-PERP"))
    path = tmp_path / "drop.csv"
    drop = Price(now * 97 // 100)
    path.write_text(f"time,price\n0,{from_price_units(now)}\n1,{from_price_units(drop)}\n")
    config = KeeperConfig(
        tasks=frozenset({"oracle", "liquidator"}),
        interval_s=0.2,
        price_paths={MarketId(0): load_path(path, step_s=1.0)},
    )
    keeper = Keeper(chain.deployment, chain.keeper, config)

    async def until_liquidated() -> None:
        running = asyncio.create_task(keeper.run())
        try:
            while not liquidated_events(chain, trader.address):
                assert not running.done(), running
                await asyncio.sleep(0.1)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    asyncio.run(asyncio.wait_for(until_liquidated(), timeout=20))
    assert chain.above_maintenance(trader.address) or chain.size(trader.address, "BTC-PERP") == 0
