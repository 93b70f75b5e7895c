"""ccxt's numeric inputs, the precision helpers and a market order's worst price."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perpdex.ccxt.async_support.exchange import _camel_case, perpdex
from perpdex.ccxt.errors import BadRequest, InvalidOrder
from perpdex.ccxt.numbers import amount_to_precision, decimal, price_to_precision
from perpdex.ccxt.order_params import order_params, worst_price
from perpdex.chain.deployment import ListedMarket
from perpdex.chain.markets import default_markets
from perpdex.core.types import MarginMode, MarketId, TimeInForce
from perpdex.core.units import to_price_units
from perpdex.sdk.amounts import order_price

BTC = ListedMarket(**asdict(default_markets()[0]), id=MarketId(0))


def test_floats_are_read_as_typed() -> None:
    assert decimal(0.1, "x") == Decimal("0.1")
    assert decimal(100000.5, "x") == Decimal("100000.5")
    assert decimal("3", "x") == 3 and decimal(3, "x") == 3
    for bad in (True, "abc", float("nan"), None):
        with pytest.raises(BadRequest):
            decimal(bad, "x")  # type: ignore[arg-type]


def test_precision_helpers() -> None:
    assert amount_to_precision(BTC, 0.00019) == "0.0001"  # truncated
    assert amount_to_precision(BTC, 2) == "2"
    assert price_to_precision(BTC, 100000.05) == "100000.1"  # rounded
    assert price_to_precision(BTC, 99999.94) == "99999.9"


@given(
    reference=st.integers(1, 10**7).map(lambda ticks: ticks * Decimal("0.1")),
    slippage=st.sampled_from([Decimal("0.001"), Decimal("0.05"), Decimal("0.5")]),
    side=st.sampled_from(["buy", "sell"]),
)
def test_worst_price_is_on_the_tick_and_within_slippage(
    reference: Decimal, slippage: Decimal, side: str
) -> None:
    worst = worst_price(BTC, side, reference, slippage)
    order_price(worst, BTC)  # on the grid, positive: raises otherwise
    if side == "buy":
        assert reference <= worst <= reference * (1 + slippage) or worst == reference
    else:
        assert reference * (1 - slippage) <= worst <= reference or worst == Decimal("0.1")
    assert to_price_units(worst) > 0


def test_camel_case_aliases() -> None:
    assert _camel_case("fetch_ohlcv") == "fetchOHLCV"
    assert _camel_case("cancel_all_orders_after") == "cancelAllOrdersAfter"
    assert perpdex.fetchOrderBook is perpdex.fetch_order_book
    assert perpdex.createOrder is perpdex.create_order


def test_order_params() -> None:
    market = order_params("market", {"reduceOnly": True, "clientOrderId": "x"})
    assert (market.time_in_force, market.reduce_only, market.client_id) == (
        TimeInForce.IOC,
        True,
        "x",
    )
    assert order_params("limit", {"postOnly": True}).time_in_force is TimeInForce.POST_ONLY
    assert order_params("limit", {"timeInForce": "FOK"}).time_in_force is TimeInForce.FOK
    assert order_params("limit", {"marginMode": "isolated"}).margin_mode is MarginMode.ISOLATED
    stop = order_params("market", {"stopLossPrice": 95000.5})
    assert stop.closes and stop.stop_loss_price == Decimal("95000.5")
    assert (
        order_params("limit", {"triggerPrice": 1, "triggerDirection": "up"}).trigger_direction
        == "above"
    )
    for kind, params, error in [
        ("limit", {"leverage": 5}, BadRequest),
        ("stop", {}, InvalidOrder),
        ("market", {"postOnly": True}, InvalidOrder),
        ("market", {"timeInForce": "GTC"}, InvalidOrder),
        ("limit", {"timeInForce": "GTD"}, InvalidOrder),
        ("limit", {"stopLossPrice": 1, "takeProfitPrice": 2}, InvalidOrder),
        ("limit", {"triggerPrice": 1, "triggerDirection": "sideways"}, InvalidOrder),
        ("limit", {"marginMode": "portfolio"}, BadRequest),
    ]:
        with pytest.raises(error):
            order_params(kind, params)


def test_every_capability_has_its_method() -> None:
    """``has`` names a method for each capability (camelCase, ccxt's names)."""
    markets = {"CORS", "spot", "margin", "swap", "future", "option"}
    special = {"createLimitOrder", "createMarketOrder", "createPostOnlyOrder"}
    special |= {"createReduceOnlyOrder", "createStopLossOrder", "createTakeProfitOrder"}
    special |= {"createTriggerOrder"}  # create_order's params
    for capability in set(perpdex.has) - markets - special:
        assert callable(getattr(perpdex, capability)), capability
