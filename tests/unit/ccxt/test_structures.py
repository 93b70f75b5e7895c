"""perpdex's values as ccxt's unified structures: each field from the exact integers."""

from __future__ import annotations

from dataclasses import asdict

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from perpdex.ccxt.structures import (
    OrderTerms,
    balance_structure,
    iso8601,
    market_structure,
    order_book_structure,
    order_structure,
    position_structure,
    trade_structure,
    unified_symbol,
)
from perpdex.chain.deployment import ListedMarket
from perpdex.chain.markets import default_markets
from perpdex.core.types import Collateral, MarketId, Price, Size, TimeInForce
from perpdex.core.units import to_collateral_units, to_price_units, to_size_units
from perpdex.gateway.protocol import Fill, HistoricalOrder, OrderState
from perpdex.sdk.chain_client import Health, PositionState
from perpdex.sdk.markets import Markets
from perpdex.sdk.values import Fill as SdkFill
from perpdex.sdk.values import OrderStatus

BTC = ListedMarket(**asdict(default_markets()[0]), id=MarketId(0))
HASH = "0x" + "11" * 32
MARKETS = Markets([BTC])


def _order(state: OrderState = OrderState.OPEN, filled: str = "0") -> OrderStatus:
    """The SDK's view of an order of the history, filled at its own price."""
    order = HistoricalOrder(
        market=0,
        order_id=7,
        order_hash=HASH,
        is_buy=False,
        price=to_price_units("100000.5"),
        size=to_size_units("0.03"),
        filled=to_size_units(filled),
        state=state,
        seq=12,
        updated_seq=14,
        client_id="bot-1",
        filled_value=to_price_units("100000.5") * to_size_units(filled),
    )
    return OrderStatus.of(MARKETS, order)


def test_symbols_are_ccxt_linear_perpetuals() -> None:
    assert unified_symbol(BTC) == "BTC/USDC:USDC"
    market = market_structure(BTC)
    assert (market["type"], market["swap"], market["linear"], market["inverse"]) == (
        "swap",
        True,
        True,
        False,
    )
    assert (market["settle"], market["contractSize"], market["numericId"]) == ("USDC", 1.0, 0)
    assert market["precision"]["amount"] == 0.0001 and market["precision"]["price"] == 0.1
    assert market["limits"]["amount"]["min"] == 0.0001
    assert market["limits"]["leverage"] == {"min": 1.0, "max": 20.0}
    assert market["info"]["tickSize"] == BTC.tick_size


def test_order_book_is_best_first_and_limited() -> None:
    bids = [(to_price_units("99"), 1), (to_price_units("100"), 2), (to_price_units("98"), 3)]
    asks = [(to_price_units("102"), 4), (to_price_units("101"), to_size_units("0.5"))]
    book = order_book_structure("BTC/USDC:USDC", bids, asks, 9, 2)
    assert [p for p, _ in book["bids"]] == [100.0, 99.0]
    assert book["asks"] == [[101.0, 0.5], [102.0, 4e-8]]
    assert book["nonce"] == 9


def test_order_states_and_terms() -> None:
    opened = order_structure(_order(), BTC)
    assert (opened["status"], opened["side"], opened["price"]) == ("open", "sell", 100000.5)
    assert (opened["amount"], opened["filled"], opened["remaining"]) == (0.03, 0.0, 0.03)
    assert opened["type"] == "limit" and opened["timeInForce"] is None  # not placed here
    assert opened["clientOrderId"] == "bot-1" and opened["info"]["order_id"] == 7
    partly = order_structure(_order(OrderState.CANCELLED, "0.01"), BTC)
    assert (partly["status"], partly["filled"], partly["remaining"]) == ("canceled", 0.01, 0.0)
    assert partly["cost"] == 1000.005
    terms = OrderTerms("market", TimeInForce.IOC, reduce_only=True)
    closed = order_structure(_order(OrderState.FILLED, "0.03"), BTC, terms)
    assert (closed["status"], closed["type"], closed["timeInForce"]) == ("closed", "market", "IOC")
    assert closed["reduceOnly"] and not closed["postOnly"]
    assert order_structure(_order(OrderState.EXPIRED), BTC)["status"] == "expired"
    posted = order_structure(_order(), BTC, OrderTerms("limit", TimeInForce.POST_ONLY, False))
    assert posted["postOnly"] and posted["timeInForce"] == "PO"


def test_a_fill_is_a_trade_with_the_contracts_fee() -> None:
    fill = Fill(
        seq=5,
        market=0,
        order_id=7,
        order_hash=HASH,
        is_buy=True,
        price=to_price_units("100000"),
        size=to_size_units("0.0003"),
        maker=False,
        account_seq=3,
    )
    trade = trade_structure(SdkFill.of(MARKETS, fill), BTC)
    assert (trade["id"], trade["order"], trade["takerOrMaker"]) == ("3", HASH, "taker")
    assert (trade["price"], trade["amount"], trade["cost"]) == (100000.0, 0.0003, 30.0)
    assert trade["fee"] == {"currency": "USDC", "cost": 0.015, "rate": 0.0005}
    smaller = msgspec.structs.replace(fill, maker=True, size=to_size_units("0.0001"))
    maker = trade_structure(SdkFill.of(MARKETS, smaller), BTC)
    assert maker["fee"]["cost"] == 0.002  # 2 bp of 10 USDC


def test_position_marks_the_quote_leg() -> None:
    short = PositionState(
        BTC,
        Size(-to_size_units("0.5")),
        Collateral(to_collateral_units("50010")),
        False,
        Collateral(0),
    )
    position = position_structure(short, Price(to_price_units("99000")))
    assert (position["side"], position["contracts"], position["entryPrice"]) == (
        "short",
        0.5,
        100020.0,
    )
    assert position["unrealizedPnl"] == 510.0  # 50010 received, 49500 to buy back
    assert (position["notional"], position["initialMargin"]) == (49500.0, 2475.0)
    assert position["maintenanceMarginPercentage"] == 0.03
    assert position["marginMode"] == "cross" and position["collateral"] is None


@given(
    equity=st.integers(-(10**12), 10**12),
    initial=st.integers(0, 10**12),
    isolated=st.integers(0, 10**12),
)
def test_balance_adds_up(equity: int, initial: int, isolated: int) -> None:
    health = Health(Collateral(equity), Collateral(initial), Collateral(initial // 2))
    balance = balance_structure(health, Collateral(isolated), Collateral(equity))
    usdc = balance["USDC"]
    assert usdc["free"] >= 0
    assert abs(usdc["free"] + usdc["used"] - usdc["total"]) <= 1e-6 * max(1, abs(usdc["total"]))
    assert balance["total"]["USDC"] == usdc["total"] == (equity + isolated) / 10**6


def test_iso8601() -> None:
    assert iso8601(1_764_703_800_123) == "2025-12-02T19:30:00.123Z"
    assert iso8601(None) is None
