"""Readable amounts convert to integers exactly, on the market's grid, or raise."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perpdex.chain.markets import default_markets
from perpdex.core.units import from_price_units, from_size_units, units
from perpdex.sdk.amounts import (
    InexactConversionError,
    MalformedDecimalError,
    NonPositiveAmountError,
    OffGridError,
    collateral_amount,
    order_price,
    order_size,
)

BTC = default_markets()[0]
POSITIVE = st.integers(min_value=1, max_value=2**64 - 1)


@given(lots=st.integers(min_value=1, max_value=10**9))
def test_size_on_the_lot_grid_round_trips(lots: int) -> None:
    size = lots * BTC.lot_size
    assert order_size(str(from_size_units(size)), BTC) == size


@given(ticks=st.integers(min_value=1, max_value=10**9))
def test_price_on_the_tick_grid_round_trips(ticks: int) -> None:
    price = ticks * BTC.tick_size
    assert order_price(f"{from_price_units(price)}", BTC) == price


@given(units_=st.integers(min_value=0, max_value=2**64), extra=st.integers(1, 9))
def test_one_more_decimal_never_rounds(units_: int, extra: int) -> None:
    # a whole number of size units and one more non-zero digit: no integer holds it exactly
    text = f"{Decimal(units_ * 10 + extra).scaleb(-units().size_decimals - 1):f}"
    with pytest.raises(InexactConversionError):
        order_size(text)


@given(units_=POSITIVE)
def test_collateral_is_exact_at_any_magnitude(units_: int) -> None:
    text = str(Decimal(units_).scaleb(-units().collateral_decimals))
    assert collateral_amount(text) == units_


@given(lots=st.integers(min_value=1, max_value=10**6), offset=st.integers(1, 99))
def test_off_lot_sizes_are_refused(lots: int, offset: int) -> None:
    size = lots * BTC.lot_size + offset  # offset < lot
    with pytest.raises(OffGridError, match=r"lot 0\.0001"):
        order_size(str(from_size_units(size)), BTC)


def test_off_tick_price_names_the_tick() -> None:
    with pytest.raises(OffGridError, match=r"BTC-PERP's tick 0\.1"):
        order_price("100000.05", BTC)
    assert order_price("100000.05") == 100_000_050_000  # no market: only exactness


@pytest.mark.parametrize("bad", ["0", "-1", "0.000"])
def test_zero_and_negative_are_refused(bad: str) -> None:
    for convert in (order_size, order_price, collateral_amount):
        with pytest.raises(NonPositiveAmountError):
            convert(bad)


@pytest.mark.parametrize("bad", ["", "abc", "NaN", "Infinity", 1.5])
def test_garbage_is_refused(bad: str | float) -> None:
    with pytest.raises(MalformedDecimalError):
        order_size(bad)  # type: ignore[arg-type]


def test_all_amount_errors_are_value_errors() -> None:
    for error in (OffGridError, NonPositiveAmountError, InexactConversionError):
        assert issubclass(error, ValueError)
