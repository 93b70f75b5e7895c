"""The pre-trade check of trigger orders: a reduce-only trigger (an attached stop-loss or
take-profit) needs no margin and reserves none, however many a position has; any other
trigger order needs and reserves margin like a resting order."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.risk.test_check import DOMAIN, KEY, _account, _check, _long_one_btc, _order

from perpdex.core.eip712 import SignedOrder, sign_order
from perpdex.core.types import (
    Price,
    Side,
    TriggerDirection,
)
from perpdex.core.units import to_price_units
from perpdex.gateway.protocol import ErrorCode
from perpdex.risk.reservations import reserves_margin


def _trigger(order: SignedOrder, price: str, *, reduce_only: bool) -> SignedOrder:
    terms = replace(
        order.order,
        reduce_only=reduce_only,
        trigger_price=Price(to_price_units(price)),
        trigger_direction=TriggerDirection.AT_OR_BELOW,
    )
    return sign_order(terms, KEY, DOMAIN)


def test_a_reduce_only_trigger_needs_no_margin_even_two_of_them() -> None:
    account = _long_one_btc("0")  # no collateral left over
    stop = _trigger(_order(Side.SELL, "1", "90000"), "95000", reduce_only=True)
    take = _trigger(_order(Side.SELL, "1", "110000"), "105000", reduce_only=True)
    assert _check(account, stop) is None
    assert _check(account, take) is None
    # the same sell, not reduce-only, flips the long twice over: it needs margin
    plain_stop = _trigger(_order(Side.SELL, "2", "90000"), "95000", reduce_only=False)
    refused = _check(account, plain_stop)
    assert refused is not None and refused.code is ErrorCode.INSUFFICIENT_MARGIN


def test_a_trigger_order_that_opens_is_checked_and_counts_like_a_resting_one() -> None:
    stop_buy = _trigger(_order(Side.BUY, "1"), "100000", reduce_only=False)
    assert _check(_account("5049"), stop_buy) is not None
    assert _check(_account("5050"), stop_buy) is None
    # once accepted, its reservation makes the next order need margin for both
    assert _check(_account("10000"), _order(Side.BUY, "1"), stop_buy) is not None


def test_only_reduce_only_trigger_orders_reserve_nothing() -> None:
    sell = _order(Side.SELL, "1")
    assert not reserves_margin(_trigger(sell, "95000", reduce_only=True).order)
    assert reserves_margin(_trigger(sell, "95000", reduce_only=False).order)
    assert reserves_margin(replace(sell.order, reduce_only=True))
    assert reserves_margin(sell.order)
