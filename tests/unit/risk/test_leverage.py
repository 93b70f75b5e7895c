"""Leverage caps in the pre-trade check (no chain): an order the market's maximum allows
is refused at a lower setting, neither splitting nor an isolated position gets round it,
a lowered setting must fit the account, and settings survive a reopened store."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from tests.unit.risk.test_check import BTC, MARKETS, QUOTES, _account, _long_one_btc, _order

from perpdex.core.eip712 import SignedOrder
from perpdex.core.leverage import (
    LeverageError,
    check_setting,
    margin_fraction,
    max_leverage,
    parse_leverage,
)
from perpdex.core.margin import MarginPpm, PositionState
from perpdex.core.types import Address, Collateral, MarginMode, Side
from perpdex.core.units import to_collateral_units, to_size_units
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import Refusal
from perpdex.risk.check import check_order, leverage_refusal
from perpdex.risk.ledger import Account
from perpdex.risk.leverage import LeverageStore
from perpdex.risk.reservations import Reservation

FIVE_X = {BTC: margin_fraction(Decimal(5))}
TRADER = Address("0x" + "11" * 20)


def _check(
    account: Account,
    order: SignedOrder,
    *open_orders: SignedOrder,
    fractions: dict = FIVE_X,  # type: ignore[type-arg]
) -> Refusal | None:
    reserved = [Reservation(o, o.order.size) for o in open_orders]
    return check_order(account, reserved, order, QUOTES, MARKETS, {}, fractions)


def test_settings_are_decimals_from_one_to_the_market_maximum() -> None:
    assert parse_leverage("12.5") == Decimal("12.5")
    assert max_leverage(50_000) == 20 and max_leverage(30_000) == Decimal("33.33")
    check_setting(Decimal(20), 50_000)
    for text in ("0.5", "abc", "NaN", "3.333", "-2"):
        with pytest.raises(LeverageError):
            parse_leverage(text)
    with pytest.raises(LeverageError, match="above the market's maximum of 20"):
        check_setting(Decimal("20.01"), 50_000)
    assert margin_fraction(Decimal(3)) == 333_334  # rounded up: a requirement


def test_an_order_the_maximum_allows_is_refused_at_five_x() -> None:
    # 1 BTC at 100,000: 5,000 initial margin at 20x, 20,000 at 5x, plus the 50 fee
    order = _order(Side.BUY, "1")
    assert _check(_account("5050"), order, fractions={}) is None
    refused = _check(_account("5050"), order)
    assert refused is not None and refused.code is ErrorCode.INSUFFICIENT_MARGIN
    assert "leverage" in refused.message and "by 15000 USDC" in refused.message
    assert _check(_account("20049"), order) is not None
    assert _check(_account("20050"), order) is None


def test_splitting_an_order_does_not_get_round_the_cap() -> None:
    # each half fits 5x on its own; the second is checked with the first open
    half = _order(Side.BUY, "0.5")
    assert _check(_account("10025"), half) is None
    assert _check(_account("10025"), half, _order(Side.BUY, "0.5")) is not None


def test_a_position_already_held_counts_at_the_cap() -> None:
    # long 1 BTC on 10,100: fine at 20x (needs 5,000), not at 5x: no more buying
    account = _long_one_btc("10100")
    assert _check(account, _order(Side.BUY, "0.01"), fractions={}) is None
    assert _check(account, _order(Side.BUY, "0.01")) is not None
    assert _check(account, _order(Side.SELL, "1")) is None  # closing is always allowed


def test_an_isolated_position_holds_the_rest_of_the_cap_in_cross() -> None:
    # the contract funds the isolated position at 5% (5,000 + 50 fee); the other 15,000
    # of 5x must be free in cross
    isolated = _order(Side.BUY, "1", mode=MarginMode.ISOLATED)
    assert _check(_account("5050"), isolated, fractions={}) is None
    assert _check(_account("5050"), isolated) is not None
    assert _check(_account("20050"), isolated) is None
    # once open, its margin shortfall at 5x still binds the cross account
    account = _account("15000")
    position = PositionState(
        to_size_units("1"),
        Collateral(-to_collateral_units("100000")),
        True,
        Collateral(5_000_000_000),
    )
    account.set_position(BTC, position, 0)
    assert _check(account, _order(Side.BUY, "0.01", mode=MarginMode.ISOLATED)) is not None


def test_lowering_leverage_must_fit_positions_and_open_orders() -> None:
    account = _long_one_btc("10100")
    quotes, fractions = QUOTES, {BTC: margin_fraction(Decimal(10))}
    assert leverage_refusal(account, [], quotes, MARKETS, fractions) is None  # needs 10,000
    refused = leverage_refusal(account, [], quotes, MARKETS, FIVE_X)
    assert refused is not None and refused.code is ErrorCode.INSUFFICIENT_MARGIN
    buy = _order(Side.BUY, "0.5")
    refused = leverage_refusal(
        _long_one_btc("15000"), [Reservation(buy, buy.order.size)], quotes, MARKETS, fractions
    )
    assert refused is not None and "open orders" in refused.message


def test_settings_survive_a_reopened_store(tmp_path: Path) -> None:
    path = tmp_path / "leverage.sqlite"
    store = LeverageStore(path)
    store.set(TRADER, BTC, Decimal("2.5"))
    store.close()
    reopened = LeverageStore(path)
    assert reopened.of(TRADER) == {BTC: Decimal("2.5")}
    assert reopened.fractions(TRADER) == {BTC: MarginPpm(400_000)}
