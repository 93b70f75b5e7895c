"""perpdex's values as ccxt's unified structures: each field from the exact integers."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from perpdex.ccxt.funding_rates import FundingPost, FundingSchedule
from perpdex.ccxt.structures import (
    OrderTerms,
    balance_structure,
    funding_history_entry,
    funding_rate_structure,
    iso8601,
    market_structure,
    ohlcv,
    open_order_status,
    order_book_structure,
    order_structure,
    position_structure,
    public_trade_structure,
    ticker_structure,
    trade_structure,
    unified_symbol,
)
from perpdex.chain.deployment import ListedMarket
from perpdex.chain.markets import default_markets
from perpdex.core.eip712 import FeePpm, Nonce, Order, UnixTime
from perpdex.core.types import (
    Address,
    Collateral,
    MarginMode,
    MarketId,
    Price,
    Side,
    Size,
    TimeInForce,
)
from perpdex.core.units import to_price_units, to_size_units
from perpdex.gateway.protocol import Fill, HistoricalOrder, OrderState
from perpdex.http import views
from perpdex.sdk.chain_client import Health
from perpdex.sdk.chain_reads import IndexPrice, MarkPrice
from perpdex.sdk.markets import Markets
from perpdex.sdk.positions import Position
from perpdex.sdk.values import Candle, Level, OpenOrder, OrderStatus, Trade
from perpdex.sdk.values import Fill as SdkFill

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
    return OrderStatus.of_api(views.historical_order({BTC.id: BTC.symbol}, order))


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


def test_position_from_the_gateways_view() -> None:
    short = Position(
        market="BTC-PERP",
        size=Decimal("-0.5"),
        margin_mode=MarginMode.ISOLATED,
        isolated_margin=Decimal("5000"),
        entry_price=Decimal("100000"),
        fees_paid=Decimal("25"),
        mark_price=Decimal("99000"),
        unrealised_pnl=Decimal("500"),
        margin_ratio=Decimal("4"),
        liquidation_price=Decimal("108000.1"),
        leverage=Decimal("10"),
    )
    position = position_structure(short, BTC)
    assert (position["side"], position["contracts"], position["entryPrice"]) == (
        "short",
        0.5,
        100000.0,
    )
    assert (position["unrealizedPnl"], position["liquidationPrice"]) == (500.0, 108000.1)
    assert (position["notional"], position["initialMargin"]) == (49500.0, 2475.0)
    assert position["maintenanceMargin"] == 1485.0 and position["marginRatio"] == 0.25
    assert position["percentage"] == 500 / 2475 * 100
    assert (position["marginMode"], position["collateral"], position["leverage"]) == (
        "isolated",
        5000.0,
        10.0,
    )
    assert position["info"]["feesPaid"] == "25"
    unknown = position_structure(
        dataclasses.replace(short, mark_price=None, margin_ratio=None, unrealised_pnl=None), BTC
    )
    assert unknown["notional"] is unknown["initialMargin"] is unknown["marginRatio"] is None


def test_public_trades_ohlcv_and_ticker() -> None:
    at = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)
    trade = Trade("BTC-PERP", 41, Decimal("100000.5"), Decimal("0.02"), Side.SELL, at)
    entry = public_trade_structure(trade, BTC, 1)
    assert (entry["id"], entry["side"], entry["price"], entry["amount"]) == (
        "41-1",
        "sell",
        100000.5,
        0.02,
    )
    assert entry["timestamp"] == 1_796_239_800_000 and entry["cost"] == 2000.01
    hour = Candle(
        "BTC-PERP",
        "1h",
        at,
        Decimal("99000"),
        Decimal("101000"),
        Decimal("98000"),
        Decimal("100000"),
        Decimal("3"),
        5,
    )
    assert ohlcv(hour) == [1_796_239_800_000, 99000.0, 101000.0, 98000.0, 100000.0, 3.0]
    later = dataclasses.replace(hour, high=Decimal("102000"), volume=Decimal("1"))
    ticker = ticker_structure(
        BTC,
        Level(Decimal("99999.9"), Decimal("1")),
        None,
        trade,
        [hour, later],
        MarkPrice("BTC-PERP", Decimal("100001"), True),
        IndexPrice("BTC-PERP", Decimal("100002"), at),
    )
    assert (ticker["bid"], ticker["ask"], ticker["last"]) == (99999.9, None, 100000.5)
    assert (ticker["open"], ticker["high"], ticker["low"]) == (99000.0, 102000.0, 98000.0)
    assert (ticker["baseVolume"], ticker["change"]) == (4.0, 1000.5)
    assert (ticker["markPrice"], ticker["indexPrice"]) == (100001.0, 100002.0)


def test_funding_rates() -> None:
    posts = [
        FundingPost(Decimal("0.0001"), Price(to_price_units("100000")), 1_000),
        FundingPost(Decimal("-0.00025"), Price(to_price_units("99000")), 4_600),
    ]
    at = datetime(2026, 12, 2, tzinfo=UTC)
    rate = funding_rate_structure(
        BTC,
        posts,
        FundingSchedule(interval_s=3_600, last_posted=4_600),
        MarkPrice("BTC-PERP", Decimal("99000"), True),
        IndexPrice("BTC-PERP", Decimal("99000"), at),
    )
    assert (rate["fundingRate"], rate["fundingTimestamp"]) == (-0.00025, 4_600_000)
    assert (rate["previousFundingRate"], rate["nextFundingTimestamp"]) == (0.0001, 8_200_000)
    assert rate["interval"] == "1h" and rate["nextFundingRate"] is None
    never = funding_rate_structure(
        BTC, [], FundingSchedule(28_800, 0), rate_mark(), IndexPrice("BTC-PERP", Decimal(1), at)
    )
    assert never["fundingRate"] is never["nextFundingTimestamp"] is None
    assert never["interval"] == "8h"
    assert funding_history_entry(BTC, posts[0]) == {
        "symbol": "BTC/USDC:USDC",
        "fundingRate": 0.0001,
        "timestamp": 1_000_000,
        "datetime": "1970-01-01T00:16:40.000Z",
        "info": {"rate": "0.0001", "price": to_price_units("100000")},
    }


def rate_mark() -> MarkPrice:
    return MarkPrice("BTC-PERP", Decimal(1), False)


def test_an_open_order_of_the_book() -> None:
    order = Order(
        trader=Address("0x" + "22" * 20),
        market=MarketId(0),
        is_buy=True,
        size=Size(to_size_units("0.03")),
        limit_price=Price(to_price_units("99000")),
        max_fee_ppm=FeePpm(500),
        margin_mode=MarginMode.CROSS,
        time_in_force=TimeInForce.GTC,
        reduce_only=False,
        expiry=UnixTime(2_000_000_000),
        nonce=Nonce(1),
    )
    resting = OpenOrder(
        "BTC-PERP",
        7,
        HASH,
        None,
        Side.BUY,
        Decimal("99000"),
        Decimal("0.03"),
        Decimal("0.01"),
        order,
    )
    structure = order_structure(open_order_status(resting), BTC)
    assert (structure["status"], structure["filled"], structure["remaining"]) == (
        "open",
        0.02,
        0.01,
    )
    assert structure["average"] is None and structure["side"] == "buy"


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
