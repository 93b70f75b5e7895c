"""What a trader reads is in decimals, exactly: order status (state, average price), candles,
trades, as the HTTP API converts them (:mod:`perpdex.http.views`) and the SDK reads its
replies; and a batch of orders is cut into frames the gateway takes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    TriggerDirection,
)
from perpdex.core.units import to_collateral_units, to_price_units, to_size_units
from perpdex.gateway import protocol as wire
from perpdex.gateway.protocol import PlaceRequest, WireOrder
from perpdex.gateway.queries import OpenOrder as WireOpenOrder
from perpdex.gateway.tape import Candle as WireCandle
from perpdex.gateway.tape import PublicTrade
from perpdex.http import views
from perpdex.sdk.batch import frames
from perpdex.sdk.chain_client import PositionState
from perpdex.sdk.markets import Markets
from perpdex.sdk.positions import SettledPosition
from perpdex.sdk.values import (
    Candle,
    OpenOrder,
    OrderState,
    OrderStatus,
    Trade,
    collateral,
    price,
    size,
)

MARKETS = Markets(
    ListedMarket(
        **{f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}, id=MarketId(i)
    )
    for i, spec in enumerate(default_markets())
)
SYMBOLS = {market.id: market.symbol for market in MARKETS}


def _status(order: wire.HistoricalOrder) -> OrderStatus:
    """The gateway's stored order as the API shows it and the SDK reads it."""
    return OrderStatus.of_api(views.historical_order(SYMBOLS, order))


def _open(order: WireOpenOrder) -> OpenOrder:
    return OpenOrder.of_api(views.open_order(SYMBOLS, order))


def _report(
    state: wire.OrderState, filled: str, fills: list[tuple[str, str]]
) -> wire.HistoricalOrder:
    return wire.HistoricalOrder(
        market=0,
        order_id=7,
        order_hash="0x" + "ab" * 32,
        is_buy=True,
        price=to_price_units("100000"),
        size=to_size_units("0.3"),
        filled=to_size_units(filled),
        state=state,
        seq=3,
        updated_seq=9,
        client_id="grid-1",
        filled_value=sum(to_price_units(p) * to_size_units(s) for p, s in fills),
    )


def test_an_open_order_with_fills_is_partially_filled_at_the_exact_average_price() -> None:
    fills = [("100000", "0.1"), ("99999.9", "0.1")]
    status = _status(_report(wire.OrderState.OPEN, "0.2", fills))
    assert status.state is OrderState.PARTIALLY_FILLED
    assert (status.market, status.side, status.client_id) == ("BTC-PERP", Side.BUY, "grid-1")
    assert (status.price, status.size, status.filled) == (
        Decimal("100000"),
        Decimal("0.3"),
        Decimal("0.2"),
    )
    assert status.average_price == Decimal("99999.95")
    assert status.remaining == Decimal("0.1")


def test_an_order_without_fills_has_no_average_and_a_closed_one_nothing_remaining() -> None:
    status = _status(_report(wire.OrderState.OPEN, "0", []))
    assert (status.state, status.average_price) == (OrderState.OPEN, None)
    cancelled = _status(_report(wire.OrderState.CANCELLED, "0", []))
    assert (cancelled.state, cancelled.remaining) == (OrderState.CANCELLED, Decimal(0))


def test_candles_and_trades_in_decimals_and_utc() -> None:
    start = 1_800_000_000_000
    wire_candle = WireCandle(
        start=start,
        open=to_price_units("100"),
        high=to_price_units("101.5"),
        low=to_price_units("99"),
        close=to_price_units("100.1"),
        volume=to_size_units("0.0301"),
        trades=4,
    )
    candle = Candle.of_api("BTC-PERP", "1m", views.candle(wire_candle))
    assert candle.start == datetime.fromtimestamp(start / 1000, UTC)
    assert (candle.open, candle.high, candle.low, candle.close, candle.volume) == tuple(
        Decimal(x) for x in ("100", "101.5", "99", "100.1", "0.0301")
    )
    trade = Trade.of_api(
        "ETH-PERP",
        views.trade(
            PublicTrade(seq=5, time=start, price=99_900_000_000, size=1_000_000, taker_is_buy=False)
        ),
    )
    assert (trade.market, trade.price, trade.size, trade.side) == (
        "ETH-PERP",
        Decimal("99900"),
        Decimal("0.01"),
        Side.SELL,
    )


def _request(client_id: str | None = None) -> PlaceRequest:
    order = WireOrder(
        trader="0x" + "11" * 20,
        market=0,
        is_buy=True,
        size=10**8,
        limit_price=10**11,
        max_fee_ppm=500,
        margin_mode=0,
        time_in_force=0,
        reduce_only=False,
        expiry=2_000_000_000,
        nonce=2**60,
    )
    return PlaceRequest(id=10**6, order=order, signature="0x" + "00" * 65, client_id=client_id)


@pytest.mark.parametrize("count", [1, 99, 100, 101, 250])
def test_a_batch_is_cut_at_the_protocols_most_requests(count: int) -> None:
    chunks = list(frames([_request()] * count))
    assert [len(c) for c in chunks] == [100] * (count // 100) + [count % 100] * (count % 100 > 0)
    assert [i for chunk in chunks for i in chunk] == list(range(count))


def test_a_batch_is_cut_where_its_bytes_would_exceed_the_frame() -> None:
    requests = [_request("x" * 64)] * 100
    one = len(msgspec.json.encode(requests[0]))
    limit = 10 * one  # room for 9 with brackets and commas
    chunks = list(frames(requests, limit))
    assert all(len(msgspec.json.encode([requests[i] for i in c])) <= limit for c in chunks)
    assert len(chunks[0]) == 9 and sum(map(len, chunks)) == 100


@given(st.integers(-(10**40), 10**40), st.sampled_from([price, size, collateral]))
def test_amounts_are_exact_and_shown_without_trailing_zeros(
    units: int, convert: Callable[[int], Decimal]
) -> None:
    amount = convert(units)
    text = str(amount)
    assert not ("." in text and text.endswith("0"))
    assert amount.as_tuple().exponent <= 0  # never 3E+3
    back = {price: to_price_units, size: to_size_units, collateral: to_collateral_units}
    assert back[convert](amount) == units


def test_a_book_level_reads_as_typed() -> None:
    assert (str(price(99_900_000_000)), str(size(1_000_000))) == ("99900", "0.01")
    assert str(size(1)) == "1E-8" and size(1) == Decimal("0.00000001")


def test_a_settled_position_reads_in_decimals() -> None:
    btc = MARKETS.symbol("BTC-PERP")
    state = PositionState(
        market=btc,
        size=Size(-to_size_units("0.03")),
        quote=Collateral(to_collateral_units("3000.5")),
        isolated=True,
        isolated_margin=Collateral(to_collateral_units("150")),
    )
    assert SettledPosition.of(state) == SettledPosition(
        "BTC-PERP", Decimal("-0.03"), Decimal("3000.5"), MarginMode.ISOLATED, Decimal("150")
    )


def test_an_open_trigger_order_reads_its_trigger_in_decimals() -> None:
    order = Order(
        trader=Address("0x" + "22" * 20),
        market=MarketId(0),
        is_buy=False,
        size=Size(to_size_units("0.03")),
        limit_price=Price(to_price_units("94000")),
        max_fee_ppm=FeePpm(500),
        margin_mode=MarginMode.CROSS,
        time_in_force=TimeInForce.IOC,
        reduce_only=True,
        expiry=UnixTime(2_000_000_000),
        nonce=Nonce(1),
        trigger_price=Price(to_price_units("95000")),
        trigger_direction=TriggerDirection.AT_OR_BELOW,
    )
    wire_order = WireOpenOrder(0, 7, "0x" + "ab" * 32, None, order.size, WireOrder.of(order))
    held = _open(wire_order)
    assert (held.price, held.trigger_price, held.trigger_direction) == (
        Decimal("94000"),
        Decimal("95000"),
        TriggerDirection.AT_OR_BELOW,
    )
    plain = _open(
        WireOpenOrder(0, 8, "0x" + "cd" * 32, None, order.size, WireOrder.of(
            dataclasses.replace(order, trigger_price=Price(0),
                                trigger_direction=TriggerDirection.NONE)
        )),
    )  # fmt: skip
    assert (plain.trigger_price, plain.trigger_direction) == (None, TriggerDirection.NONE)
