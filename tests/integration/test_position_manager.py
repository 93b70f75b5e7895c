"""The position manager against a real anvil: engine fills count at once, a batch with
one invalid fill settles the others, and after settlement the folded state equals the
contract's views; a new manager rebuilds the same state from the chain alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect
from perpdex.cli.up import fresh_deployment
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
from perpdex.core.signing import SigningKey
from perpdex.core.types import Address, MarginMode, MarketId, OrderId, Price, Side, TimeInForce
from perpdex.core.units import to_price_units, to_size_units
from perpdex.engine.events import Filled
from perpdex.risk.indexer import ChainIndexer
from perpdex.risk.manager import PositionManager
from perpdex.risk.prices import PriceFeed
from perpdex.risk.verify import differences
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.outcomes import Rejected, RejectReason, Settled
from perpdex.settlement.payload import order_payload
from perpdex.settlement.runner import SettledCursor, SettlementRunner

DAY = 86_400


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


def _domain(deployment: Deployment) -> Eip712Domain:
    return Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)


def _manager(deployment: Deployment) -> PositionManager:
    web3 = connect(deployment.rpc_url)
    contracts = bind(web3, deployment)
    listed = [MarketId(m.id) for m in deployment.markets]
    domain = _domain(deployment)
    indexer = ChainIndexer(
        web3, contracts.exchange, contracts.markets, domain, listed, deployment.start_block
    )
    return PositionManager(indexer, PriceFeed(contracts.markets, listed), domain)


def _order(
    deployment: Deployment, role: Role, side: Side, size: str, price: str, nonce: int
) -> SignedOrder:
    key = SigningKey(bytes(deployment.wallet(role).account().key))
    web3 = connect(deployment.rpc_url)
    order = Order(
        trader=key.address,
        market=deployment.market("BTC-PERP").id,
        is_buy=side is Side.BUY,
        size=to_size_units(size),
        limit_price=Price(to_price_units(price)),
        max_fee_ppm=FeePpm(500),
        margin_mode=MarginMode.CROSS,
        time_in_force=TimeInForce.GTC,
        reduce_only=False,
        expiry=UnixTime(int(web3.eth.get_block("latest")["timestamp"]) + DAY),
        nonce=Nonce(nonce),
    )
    return sign_order(order, key, _domain(deployment))


def _fill(seq: int, maker: SignedOrder, taker: SignedOrder, price: str, size: str) -> Filled:
    return Filled(
        seq,
        maker.order.market,
        OrderId(seq * 2),
        OrderId(seq * 2 + 1),
        taker.order.trader,
        maker.order.trader,
        taker.order.side,
        to_price_units(price),
        to_size_units(size),
        order_payload(taker),
        order_payload(maker),
    )


def test_one_invalid_fill_settles_the_others_and_the_fold_equals_the_views(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        pm = _manager(deployment)
        await pm.sync()
        operator = deployment.wallet(Role.OPERATOR).account()

        def make_batcher() -> Batcher:
            web3 = connect(deployment.rpc_url)
            exchange = bind(web3, deployment).exchange
            return Batcher(web3, exchange, operator, from_block=deployment.start_block)

        runner = SettlementRunner(
            make_batcher, _domain(deployment), SettledCursor(tmp_path / "cursor"), lambda: 3
        )
        runner.subscribe(pm.on_outcome)
        moved: list[set[tuple[Address, MarketId]]] = []
        pm.subscribe_positions(moved.append)
        asks = [
            _order(deployment, Role.MAKER, Side.SELL, "0.05", "100000", 1),
            _order(deployment, Role.MAKER, Side.SELL, "0.05", "100050", 2),
            _order(deployment, Role.MAKER, Side.SELL, "0.05", "100010", 3),
        ]
        buy = _order(deployment, Role.TRADER, Side.BUY, "0.15", "100020", 1)
        fills = [
            _fill(1, asks[0], buy, "100000", "0.05"),
            _fill(2, asks[1], buy, "100050", "0.05"),  # above the buyer's limit
            _fill(3, asks[2], buy, "100010", "0.05"),
        ]
        for fill in fills:
            runner.on_event(fill)
            pm.on_engine_event(fill)
        trader = buy.order.trader
        assert pm.position(trader, buy.order.market) == to_size_units("0.15")  # all pending

        report = await runner.settle_once()
        assert report is not None
        outcomes = report.outcomes
        assert [type(o) for o in outcomes] == [Settled, Rejected, Settled]
        rejected = outcomes[1]
        assert isinstance(rejected, Rejected) and rejected.reason is RejectReason.PRICE_LIMIT
        assert runner.cursor.seq == 3 and not runner.unsettled()

        await pm.sync()
        assert len(pm.pending) == 0
        assert pm.position(trader, buy.order.market) == to_size_units("0.1")
        assert moved == []  # the fills it folded were pending: no position moved
        web3 = connect(deployment.rpc_url)
        traders = [w.address for w in deployment.wallets]
        exchange = bind(web3, deployment).exchange
        listed = [MarketId(m.id) for m in deployment.markets]
        assert differences(pm.ledger, exchange, traders, listed, pm.quotes, pm.through) == []

        # a manager started now rebuilds the same accounts from the chain alone
        again = _manager(deployment)
        learned: list[set[tuple[Address, MarketId]]] = []
        again.subscribe_positions(learned.append)
        await again.sync()
        # ... and hears of the positions it learns of from the chain alone
        market = buy.order.market
        assert set().union(*learned) == {(trader, market), (asks[0].order.trader, market)}
        assert again.ledger.accounts == pm.ledger.accounts
        assert again.account(trader) == pm.account(trader)

    asyncio.run(scenario())
