"""The account routes of a real node on anvil, after real trades: margin and positions
with their figures, open orders, one order by hash or client id, the history pages, the
funding page; and bad input as typed 4xx."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from tests.integration.http.conftest import Served

from perpdex.chain.deployment import Role
from perpdex.sdk.values import OrderState

TIMEOUT_S = 20.0


def _until(served: Served, path: str, done: Any) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        body = served.ok(path)
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_an_account_after_a_trade_reads_as_a_person_would(served: Served) -> None:
    deployment = served.node.deployment
    maker_address = deployment.wallet(Role.MAKER).address
    trader_address = deployment.wallet(Role.TRADER).address

    async def trade() -> tuple[str, str]:
        async with served.client(Role.MAKER) as maker, served.client(Role.TRADER) as trader:
            rest = await maker.place("BTC-PERP", "sell", "0.05", "100000", client_id="ask-1")
            await maker.place("BTC-PERP", "buy", "0.01", "90000.5", client_id="bid-1")
            await trader.place("BTC-PERP", "buy", "0.02", "100000")
            status = await maker.order_status(client_id="ask-1")  # through the API
            assert (status.state, status.filled) == (OrderState.PARTIALLY_FILLED, Decimal("0.02"))
            assert status.average_price == Decimal(100000)
            return "0x" + bytes(rest.order_hash).hex(), trader_address

    ask_hash, _ = served.run(trade())
    # the trader's long, once the position manager counts it
    account = _until(served, f"/accounts/{trader_address.lower()}", lambda a: a["positions"] != [])
    assert account["trader"] == trader_address  # checksummed
    (position,) = account["positions"]
    assert (position["market"], position["size"], position["marginMode"]) == (
        "BTC-PERP",
        "0.02",
        "cross",
    )
    assert position["entryPrice"] == "100000"
    # 1,000,000 USDC carries 0.02 BTC at any price: nothing liquidates it
    assert position["liquidationPrice"] is None
    assert position["markPrice"] == "100000" and position["unrealisedPnl"] == "0"
    assert Decimal(position["marginRatio"]) > 1
    assert Decimal(account["collateral"]) > 0
    assert account["legs"][0]["marketId"] == 0
    assert account["openOrders"] == []

    opened = served.ok(f"/accounts/{maker_address}/open-orders?market=BTC-PERP")
    assert [(o["clientId"], o["side"], o["price"], o["remaining"]) for o in opened] == [
        ("ask-1", "sell", "100000", "0.03"),
        ("bid-1", "buy", "90000.5", "0.01"),
    ]
    assert opened[0]["order"]["trader"] == maker_address
    assert opened[0]["size"] == "0.05"
    by_hash = served.ok(f"/accounts/{maker_address}/orders/{ask_hash}")
    assert by_hash == served.ok(f"/accounts/{maker_address}/client-orders/ask-1")
    assert (by_hash["state"], by_hash["filled"], by_hash["averagePrice"]) == (
        "open",
        "0.02",
        "100000",
    )

    fills = served.ok(f"/accounts/{maker_address}/fills?limit=1")
    (fill,) = fills["events"]
    assert (fill["type"], fill["side"], fill["price"], fill["size"], fill["maker"]) == (
        "fill",
        "sell",
        "100000",
        "0.02",
        True,
    )
    assert fills["next"] == fill["accountSeq"]
    assert served.ok(f"/accounts/{maker_address}/fills?after={fills['next']}")["events"] == []
    orders = served.ok(f"/accounts/{maker_address}/orders?limit=1")
    assert [o["clientId"] for o in orders["orders"]] == ["ask-1"]
    rest = served.ok(f"/accounts/{maker_address}/orders?after={orders['next']}")
    assert [o["clientId"] for o in rest["orders"]] == ["bid-1"] and rest["next"] is None
    events = served.ok(f"/accounts/{trader_address}/events")
    assert [e["type"] for e in events["events"]] == ["fill"]
    assert served.ok(f"/accounts/{trader_address}/funding") == {"payments": [], "next": None}


def test_bad_account_reads_are_typed_4xx(served: Served) -> None:
    trader = served.node.deployment.wallet(Role.TRADER).address
    cases = {
        "/accounts/0x12": (422, "malformed"),
        f"/accounts/{trader}/open-orders?market=9": (404, "unknown_market"),
        f"/accounts/{trader}/orders/0x{'ab' * 32}": (404, "unknown_order"),
        f"/accounts/{trader}/orders/0x12": (422, "malformed"),
        f"/accounts/{trader}/client-orders/nothing": (404, "unknown_order"),
        f"/accounts/{trader}/fills?limit=0": (422, "malformed"),
        f"/accounts/{trader}/orders?limit=1001": (422, "malformed"),
        f"/accounts/{trader}/events?after=-1": (422, "malformed"),
        f"/accounts/{trader}/funding?market=DOGE": (404, "unknown_market"),
    }
    for path, expected in cases.items():
        status, body = served.get(path)
        assert (status, body["code"]) == expected, (path, body)
