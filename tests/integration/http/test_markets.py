"""The market routes of a real node on anvil: terms and prices as decimal strings, the
book, the tape's trades and candles after real trades, and bad input as typed 4xx."""

from __future__ import annotations

import time
from decimal import Decimal

from tests.integration.http.conftest import Served

from perpdex.chain.deployment import Role

TIMEOUT_S = 20.0


def _until(served: Served, path: str, done: object) -> object:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        body = served.ok(path)
        if done(body) or time.monotonic() > deadline:  # type: ignore[operator]
            return body
        time.sleep(0.05)


def test_markets_show_terms_prices_and_funding_by_symbol_or_id(served: Served) -> None:
    # the chain is read in the background: wait for its first read
    listed = _until(served, "/markets", lambda b: b[0]["indexPrice"] is not None)
    assert [m["symbol"] for m in listed] == ["BTC-PERP", "ETH-PERP"]  # type: ignore[index]
    btc = served.ok("/markets/BTC-PERP")
    assert served.ok("/markets/0") == btc
    assert served.ok("/markets/btc-perp") == btc
    assert {k: btc[k] for k in ("id", "tickSize", "lotSize", "makerFee", "takerFee")} == {
        "id": 0,
        "tickSize": "0.1",
        "lotSize": "0.0001",
        "makerFee": "0.0002",
        "takerFee": "0.0005",
    }
    assert (btc["initialMargin"], btc["maintenanceMargin"], btc["maxLeverage"]) == (
        "0.05",
        "0.03",
        20,
    )
    assert (btc["indexPrice"], btc["markPrice"], btc["markPriceFresh"]) == (
        "100000",
        "100000",
        True,
    )
    assert btc["fundingIntervalS"] == 3600
    assert btc["nextFundingTime"] % 1000 == 0
    assert (btc["openInterest"], btc["volume24h"]) == ("0", "0")


def test_book_trades_and_candles_follow_real_trades(served: Served) -> None:
    async def trade() -> None:
        async with served.client(Role.MAKER) as maker, served.client(Role.TRADER) as trader:
            await maker.place("ETH-PERP", "sell", "2", "3000")
            await maker.place("ETH-PERP", "sell", "1", "3001.5")
            await maker.place("ETH-PERP", "buy", "1.25", "2990.25")
            await trader.place("ETH-PERP", "buy", "2.5", "3002")  # 2 @ 3000, 0.5 @ 3001.5

    served.run(trade())
    book = served.ok("/markets/ETH-PERP/book")
    assert (book["market"], book["bids"], book["asks"]) == (
        "ETH-PERP",
        [["2990.25", "1.25"]],
        [["3001.5", "0.5"]],
    )
    assert book["seq"] > 0
    trades = served.ok("/markets/1/trades?limit=5")
    assert [(t["price"], t["size"], t["side"]) for t in trades] == [
        ("3001.5", "0.5", "buy"),
        ("3000", "2", "buy"),
    ]  # newest first
    assert trades[0]["seq"] >= trades[1]["seq"]
    assert abs(trades[0]["time"] / 1000 - time.time()) < 60
    (candle,) = served.ok("/markets/ETH-PERP/candles?interval=1h")
    assert {k: candle[k] for k in ("open", "high", "low", "close", "volume", "trades")} == {
        "open": "3000",
        "high": "3001.5",
        "low": "3000",
        "close": "3001.5",
        "volume": "2.5",
        "trades": 2,
    }
    assert candle["start"] % 3_600_000 == 0
    eth = served.ok("/markets/ETH-PERP")
    assert eth["volume24h"] == "2.5"
    # settled on chain, the positions count as open interest
    settled = _until(served, "/markets/ETH-PERP", lambda m: m["openInterest"] == "2.5")
    assert Decimal(settled["openInterest"]) == Decimal("2.5")  # type: ignore[index]


def test_bad_market_reads_are_typed_4xx(served: Served) -> None:
    cases = {
        "/markets/DOGE-PERP": (404, "unknown_market"),
        "/markets/9/book": (404, "unknown_market"),
        "/markets/0/trades?limit=0": (422, "malformed"),
        "/markets/0/trades?limit=1001": (422, "malformed"),
        "/markets/0/trades?limit=x": (422, "malformed"),
        "/markets/0/candles?interval=2h": (422, "malformed"),
        "/nowhere": (404, "not_found"),
    }
    for path, expected in cases.items():
        status, body = served.get(path)
        assert (status, body["code"]) == expected, (path, body)
        assert body["message"]


def test_the_sdk_finds_the_api_again_when_it_moved(served: Served) -> None:
    """A node restarted on another HTTP port: the client's next read asks the gateway where
    the API is now, rather than failing on the old address for good."""
    node = served.node

    async def scenario() -> None:
        async with served.client(Role.TRADER) as trader:
            before = await trader.order_book("BTC-PERP")
            old = trader.http_url
            await node.http.stop()
            node.http.port = 0
            await node.http.start()
            node.gateway.web_url = node.http.url
            await node.restart_gateway()
            assert await trader.order_book("BTC-PERP") == before
            assert trader.http_url not in (None, old)

    served.run(scenario())
