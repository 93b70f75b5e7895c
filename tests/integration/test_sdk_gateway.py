"""The SDK against a real gateway on loopback (real engine, real signatures) and a real
anvil deployment: place, cross, cancel, amend, subscribe, typed errors, reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest
from tests.integration.relay import Partition

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import demo_wallets, deploy
from perpdex.chain.deployment import Deployment, Role
from perpdex.core.eip712 import ChainId, Eip712Domain
from perpdex.core.types import Side
from perpdex.engine.clock import WallClock
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventBus
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway.risk import AllowAll
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway
from perpdex.http.app import create_app
from perpdex.http.server import HttpServer
from perpdex.http.sources import Sources
from perpdex.risk.from_chain import engine_markets
from perpdex.sdk.book import BookView
from perpdex.sdk.client import Client
from perpdex.sdk.gateway_errors import UnknownOrderError
from perpdex.sdk.subscriptions import Subscription
from perpdex.sdk.values import Fill

TIMEOUT_S = 5.0
T = TypeVar("T")


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return deploy(anvil.rpc_url, demo_wallets(anvil.accounts))


@asynccontextmanager
async def gateway_for(deployment: Deployment, **options: int) -> AsyncIterator[str]:
    bus = EventBus()
    markets = engine_markets(deployment)
    domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
    sequencer = Sequencer(Engine(markets, bus), WallClock())
    gateway = Gateway(sequencer, bus, domain, risk=AllowAll(), **options)  # type: ignore[arg-type]
    http = HttpServer(create_app(Sources.of_gateway(deployment, gateway)))
    await http.start()
    try:
        async with GatewayServer(gateway, web_url=http.url) as server:
            yield f"ws://127.0.0.1:{server.port}"
    finally:
        await http.stop()


def _client(url: str, deployment: Deployment, role: Role, state_dir: Path) -> Client:
    key = deployment.wallet(role).private_key
    assert key is not None
    return Client.connect(url, key, deployment, state_dir=state_dir)


async def _next(subscription: Subscription[T]) -> T:
    return await asyncio.wait_for(anext(subscription), TIMEOUT_S)


async def _book_until(book: Subscription[BookView], asks: int) -> BookView:
    while True:
        view = await _next(book)
        if len(view.asks) == asks:
            return view


def test_place_cross_cancel_amend_and_streams(deployment: Deployment, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with gateway_for(deployment) as url:
            maker = _client(url, deployment, Role.MAKER, tmp_path)
            trader = _client(url, deployment, Role.TRADER, tmp_path)
            async with maker, trader:
                book = await trader.book("btc-perp")
                trades = await trader.trades("BTC-PERP")
                fills = await maker.account()
                assert (await _next(book)).asks == ()

                ask = await maker.place("BTC-PERP", "sell", "0.05", "100000")
                assert ask.size == Decimal("0.05")
                view = await _book_until(book, asks=1)
                assert view.best_ask == (Decimal("100000"), Decimal("0.05"))

                await trader.place("BTC-PERP", "buy", "0.02", "100010")
                fill = await _next(fills)
                assert isinstance(fill, Fill) and fill.maker
                assert fill.order_hash == "0x" + ask.order_hash.hex()
                trade = await _next(trades)
                assert trade.size == Decimal("0.02") and trade.side is Side.BUY

                await asyncio.sleep(1.1)  # a fresh expiry now would differ: the gateway refuses
                amended = await maker.amend(ask.order_hash, price="100001.5")
                assert amended.nonce > ask.nonce
                assert amended.signed.order.expiry == ask.signed.order.expiry
                view = await _next(book)
                while view.best_ask is None or view.best_ask.price != Decimal("100001.5"):
                    view = await _next(book)

                await maker.cancel(amended.order_hash)
                assert (await _book_until(book, asks=0)).asks == ()
                with pytest.raises(UnknownOrderError):
                    await maker.cancel(amended.order_hash)

    asyncio.run(scenario())


def test_reconnect_resubscribes_and_re_snapshots(deployment: Deployment, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with gateway_for(deployment) as url:
            maker = _client(url, deployment, Role.MAKER, tmp_path)
            watcher = _client(url, deployment, Role.TRADER, tmp_path)
            async with maker, watcher:
                book = await watcher.book("ETH-PERP")
                await _next(book)
                # the connection drops under the client (as a network failure would)
                assert watcher._ws is not None
                await watcher._ws.close()
                placed = await maker.place("ETH-PERP", "sell", "1", "3000")
                view = await _book_until(book, asks=1)  # from the new connection's snapshot
                assert view.best_ask == (Decimal("3000"), Decimal("1"))
                # the watcher's requests work again on the new connection
                await watcher.place("ETH-PERP", "buy", "1", "2990")
                await maker.cancel(placed.order_hash)
                assert (await _book_until(book, asks=0)).bids != ()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("missed", "replayed_by_the_gateway"), [(6, 10), (12, 4)], ids=["resumed", "over_http"]
)
def test_a_client_cut_off_while_it_was_filled_gets_every_fill_once_in_order(
    deployment: Deployment, tmp_path: Path, missed: int, replayed_by_the_gateway: int
) -> None:
    """The maker's network is cut while the taker fills its orders: on reconnect the SDK
    resumes after the last event it yielded (beyond what the gateway replays, it reads the
    rest from the HTTP history first), and the stream continues with no gap or duplicate."""

    async def scenario() -> None:
        async with gateway_for(deployment, max_resume_events=replayed_by_the_gateway) as url:
            port = int(url.rsplit(":", 1)[1])
            partition = Partition(port)
            async with partition as relayed:
                maker = _client(f"ws://127.0.0.1:{relayed}", deployment, Role.MAKER, tmp_path)
                taker = _client(url, deployment, Role.TRADER, tmp_path)
                async with maker, taker:
                    stream = await maker.account()
                    for _ in range(missed + 2):
                        await maker.place("ETH-PERP", "sell", "1", "3000")
                    await taker.place("ETH-PERP", "buy", "1", "3000")
                    seen = [await _next(stream)]
                    partition.cut()
                    for _ in range(missed):
                        await taker.place("ETH-PERP", "buy", "1", "3000")
                    partition.open = True
                    while len(seen) < missed + 1:
                        seen.append(await _next(stream))
                    await taker.place("ETH-PERP", "buy", "1", "3000")  # live again
                    seen.append(await _next(stream))
                    assert all(isinstance(e, Fill) for e in seen)
                    assert {(e.market, e.price, e.size, e.maker) for e in seen} == {
                        ("ETH-PERP", Decimal("3000"), Decimal("1"), True)
                    }
                    assert [e.account_seq for e in seen] == list(range(1, missed + 3))
                    with pytest.raises(TimeoutError):  # and nothing twice
                        await asyncio.wait_for(anext(stream), 0.5)

                    history = await maker.fills(limit=missed + 5)
                    assert history.items == seen and history.next is None
                    first = await maker.fills(limit=2)
                    assert first.items == seen[:2] and first.next == 2
                    orders = await maker.order_history()
                    assert [o.state.value for o in orders.items] == (["filled"] * (missed + 2))

    asyncio.run(scenario())
