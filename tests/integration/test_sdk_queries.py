"""The SDK's trader queries against a real gateway on loopback (real engine, real
signatures, its HTTP reads) and a real anvil deployment: batch place, open orders, order
status, amend by client id, cancel-all's count, recent trades, candles, the trades stream,
mark and index price, funding history. Every amount a trader reads is a Decimal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.test_sdk_gateway import _client, _next, gateway_for

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import demo_wallets, deploy
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect
from perpdex.core.types import Side, TimeInForce
from perpdex.sdk.batch import OrderSpec
from perpdex.sdk.client import PlacedOrder
from perpdex.sdk.gateway_errors import (
    GatewayError,
    OrderRejectedError,
    UnknownOrderError,
)
from perpdex.sdk.values import OrderState


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return deploy(anvil.rpc_url, demo_wallets(anvil.accounts))


def test_place_many_answers_each_order_in_order_across_frames(
    deployment: Deployment, tmp_path: Path
) -> None:
    """150 orders go in two frames (100 + 50); a post-only order that would cross is
    refused with its typed error, in its place, and the rest are placed."""

    async def scenario() -> None:
        async with (
            gateway_for(deployment) as url,
            _client(url, deployment, Role.MAKER, tmp_path) as maker,
        ):
            await maker.place("ETH-PERP", "sell", "1", "3100")
            specs = [
                OrderSpec("ETH-PERP", "buy", "0.01", str(2000 + i), client_id=f"b{i}")
                for i in range(150)
            ]
            specs[70] = OrderSpec(
                "ETH-PERP", "buy", "0.01", "3200", time_in_force=TimeInForce.POST_ONLY
            )
            results = await maker.place_many(specs)
            assert len(results) == 150
            refused = results[70]
            assert isinstance(refused, OrderRejectedError)
            placed = [r for r in results if isinstance(r, PlacedOrder)]
            assert len(placed) == 149
            assert [p.client_id for p in placed] == [s.client_id for s in specs if s != specs[70]]
            assert all(p.size == Decimal("0.01") for p in placed)
            assert len({p.order_id for p in placed}) == 149
            resting = await maker.open_orders("ETH-PERP")
            assert len(resting) == 150  # 149 bids and the ask
            assert await maker.cancel_all("ETH-PERP") == 150
            assert await maker.open_orders() == []
            assert await maker.cancel_all() == 0

    asyncio.run(scenario())


def test_open_orders_status_and_amend_by_client_id(deployment: Deployment, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with gateway_for(deployment) as url:
            maker = _client(url, deployment, Role.MAKER, tmp_path)
            trader = _client(url, deployment, Role.TRADER, tmp_path)
            async with maker, trader:
                ask = await maker.place("BTC-PERP", "sell", "0.3", "100000", client_id="ask-1")
                (resting,) = await maker.open_orders()
                assert (resting.market, resting.side, resting.client_id) == (
                    "BTC-PERP",
                    Side.SELL,
                    "ask-1",
                )
                assert (resting.price, resting.size, resting.remaining) == (
                    Decimal("100000"),
                    Decimal("0.3"),
                    Decimal("0.3"),
                )
                assert resting.order_hash == "0x" + ask.order_hash.hex()
                assert await maker.open_orders("ETH-PERP") == []
                assert await trader.open_orders() == []

                status = await maker.order_status(client_id="ask-1")
                assert (status.state, status.filled, status.average_price) == (
                    OrderState.OPEN,
                    Decimal(0),
                    None,
                )

                await trader.place("BTC-PERP", "buy", "0.1", "100000")
                await trader.place("BTC-PERP", "buy", "0.1", "100010")
                status = await maker.order_status(ask.order_hash)
                assert status.state is OrderState.PARTIALLY_FILLED
                assert (status.filled, status.average_price) == (Decimal("0.2"), Decimal("100000"))
                assert status.remaining == Decimal("0.1")

                await asyncio.sleep(1.1)  # the expiry is kept: a second later, a new hash
                amended = await maker.amend(client_id="ask-1", price="100005.5", size="0.4")
                (resting,) = await maker.open_orders()
                assert (resting.price, resting.size, resting.remaining) == (
                    Decimal("100005.5"),
                    Decimal("0.4"),
                    Decimal("0.2"),
                )
                assert resting.order_hash == "0x" + amended.order_hash.hex()
                # a client that did not place it amends by client id from the gateway's state
                other = _client(url, deployment, Role.MAKER, tmp_path)
                async with other:
                    again = await other.amend_by_client_id("ask-1", price="100006")
                    assert again.client_id == "ask-1"
                    with pytest.raises(UnknownOrderError):
                        await other.amend(client_id="no-such-order", price="1")
                # ... and by its hash, typed in any case
                async with _client(url, deployment, Role.MAKER, tmp_path) as third:
                    await third.amend("0x" + again.order_hash.hex().upper(), price="100006.5")
                    with pytest.raises(UnknownOrderError):
                        await third.amend(again.order_hash, price="1")  # replaced: not open

                await trader.place("BTC-PERP", "buy", "0.2", "100006.5")
                filled = await maker.order_status(client_id="ask-1")
                assert (filled.state, filled.filled, filled.remaining) == (
                    OrderState.FILLED,
                    Decimal("0.4"),
                    Decimal(0),
                )
                # (0.1 + 0.1) at 100000, then 0.2 at 100006.5
                assert filled.average_price == Decimal("100003.25")

                bid = await trader.place("BTC-PERP", "buy", "0.1", "90000", client_id="bid")
                await trader.cancel(bid.order_hash)
                cancelled = await trader.order_status(client_id="bid")
                assert (cancelled.state, cancelled.reason) == (OrderState.CANCELLED, "requested")
                with pytest.raises(UnknownOrderError):
                    await trader.order_status(client_id="never-placed")
                with pytest.raises(ValueError, match="hash or its client_id"):
                    await trader.order_status()

    asyncio.run(scenario())


def test_recent_trades_candles_and_the_trades_stream_in_decimals(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with gateway_for(deployment) as url:
            maker = _client(url, deployment, Role.MAKER, tmp_path)
            trader = _client(url, deployment, Role.TRADER, tmp_path)
            async with maker, trader:
                stream = await trader.trades("ETH-PERP")
                assert await trader.recent_trades("ETH-PERP") == []
                assert await trader.candles("ETH-PERP") == []
                await maker.place("ETH-PERP", "sell", "2", "3000")
                await maker.place("ETH-PERP", "sell", "2", "3001.5")
                before = datetime.now(UTC)
                await trader.place("ETH-PERP", "buy", "3", "3002")  # 2 @ 3000, 1 @ 3001.5
                await trader.place("ETH-PERP", "buy", "0.5", "3002")  # 0.5 @ 3001.5
                live = [await _next(stream) for _ in range(3)]
                assert [(t.price, t.size, t.side) for t in live] == [
                    (Decimal("3000"), Decimal("2"), Side.BUY),
                    (Decimal("3001.5"), Decimal("1"), Side.BUY),
                    (Decimal("3001.5"), Decimal("0.5"), Side.BUY),
                ]
                recent = await trader.recent_trades("ETH-PERP", limit=2)
                assert [(t.price, t.size) for t in recent] == [
                    (Decimal("3001.5"), Decimal("0.5")),
                    (Decimal("3001.5"), Decimal("1")),
                ]  # newest first
                assert recent[0].time is not None
                assert abs(recent[0].time - before) < timedelta(seconds=5)
                assert recent[1] == live[1]
                for interval in ("1m", "1d"):
                    (candle,) = await trader.candles("ETH-PERP", interval)
                    assert (candle.open, candle.high, candle.low, candle.close) == (
                        Decimal("3000"),
                        Decimal("3001.5"),
                        Decimal("3000"),
                        Decimal("3001.5"),
                    )
                    assert (candle.volume, candle.trades) == (Decimal("3.5"), 3)
                    assert candle.start <= recent[-1].time  # type: ignore[operator]
                with pytest.raises(GatewayError, match="interval"):
                    await trader.candles("ETH-PERP", "7m")
                assert await trader.recent_trades("BTC-PERP") == []

    asyncio.run(scenario())


def test_mark_and_index_price_and_funding_history_from_the_chain(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with (
            gateway_for(deployment) as url,
            _client(url, deployment, Role.TRADER, tmp_path) as trader,
        ):
            mark = await trader.mark_price("BTC-PERP")
            index = await trader.index_price("btc-perp")
            assert (mark.market, mark.price, mark.fresh) == ("BTC-PERP", Decimal(100000), True)
            assert (index.market, index.price) == ("BTC-PERP", Decimal(100000))
            # the feed's time is on the chain's clock, which other tests of this anvil move
            chain_now = connect(deployment.rpc_url).eth.get_block("latest")["timestamp"]
            assert index.time <= datetime.fromtimestamp(chain_now, UTC)
            assert (await trader.index_price("ETH-PERP")).price == Decimal(3000)
            page = await trader.funding_history()
            assert (page.items, page.next) == ([], None)

    asyncio.run(scenario())
