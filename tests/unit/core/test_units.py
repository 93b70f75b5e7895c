"""Scales come from the Vyper source; conversions are exact or raise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpdex.core import units as units_module
from perpdex.core.units import (
    CONTRACTS_DIR_ENV,
    InexactConversionError,
    MalformedDecimalError,
    Units,
    from_collateral_units,
    from_price_units,
    from_size_units,
    to_collateral_units,
    to_price_units,
    to_size_units,
    units,
    vyper_constants,
)

ToUnits = Callable[[Decimal | str | int], int]
FromUnits = Callable[..., Decimal]

CONVERSIONS: list[tuple[ToUnits, FromUnits, str]] = [
    (to_collateral_units, from_collateral_units, "collateral_decimals"),
    (to_size_units, from_size_units, "size_decimals"),
    (to_price_units, from_price_units, "price_decimals"),
]


@pytest.fixture
def fresh_units() -> Iterator[None]:
    units.cache_clear()
    yield
    units.cache_clear()


def test_repo_units_are_folded_by_the_compiler() -> None:
    u = units()
    assert u.size_scale == 10**u.size_decimals
    # PRICE_DECIMALS is declared as COLLATERAL_DECIMALS: a name, resolved by the compiler.
    assert u.price_decimals == u.collateral_decimals
    assert u.fraction_scale > 0


def test_units_follow_the_source_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_units: None
) -> None:
    (tmp_path / "units.vy").write_text(
        "COLLATERAL_DECIMALS: constant(uint256) = 18\n"
        "SIZE_DECIMALS: constant(uint256) = 3\n"
        "SIZE_SCALE: constant(uint256) = 10 ** SIZE_DECIMALS\n"
        "PRICE_DECIMALS: constant(uint256) = COLLATERAL_DECIMALS - 10\n"
        "FRACTION_SCALE: constant(uint256) = 10 ** 4\n"
        "LABEL: constant(String[16]) = 'not-a-scale'\n"
    )
    monkeypatch.setenv(CONTRACTS_DIR_ENV, str(tmp_path))
    assert units() == Units(
        collateral_decimals=18,
        size_decimals=3,
        size_scale=1000,
        price_decimals=8,
        fraction_scale=10_000,
    )
    assert "LABEL" not in vyper_constants(tmp_path / "units.vy")
    assert to_size_units("1.5") == 1500


def test_known_amounts() -> None:
    u = units()
    assert to_collateral_units("12.5") == 125 * 10 ** (u.collateral_decimals - 1)
    assert to_size_units("1") == u.size_scale
    assert to_price_units(Decimal("-0.5")) == -5 * 10 ** (u.price_decimals - 1)
    assert to_size_units(3) == 3 * u.size_scale
    assert to_collateral_units("1e2") == 100 * 10**u.collateral_decimals


@pytest.mark.parametrize(("to_units", "from_units", "field"), CONVERSIONS)
def test_one_digit_too_many_raises(to_units: ToUnits, from_units: FromUnits, field: str) -> None:
    decimals = getattr(units(), field)
    with pytest.raises(InexactConversionError):
        to_units("1." + "0" * decimals + "1")
    # trailing zeros beyond the scale are not a rounding
    assert to_units("1." + "0" * (decimals + 5)) == 10**decimals


def test_amounts_beyond_decimal_context_precision_are_exact() -> None:
    huge = 2**256 - 1
    assert to_collateral_units(from_collateral_units(huge)) == huge
    assert to_size_units(str(from_size_units(huge))) == huge


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "NaN", "sNaN", "Infinity", "-inf", 1.5, True])
def test_malformed_amounts_raise(bad: object) -> None:
    with pytest.raises(MalformedDecimalError):
        to_size_units(bad)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(min_value=-(2**256), max_value=2**256), which=st.sampled_from(CONVERSIONS)
)
def test_round_trip(amount: int, which: tuple[ToUnits, FromUnits, str]) -> None:
    to_units, from_units, _ = which
    shown = from_units(amount)
    assert to_units(shown) == amount
    assert to_units(str(shown)) == amount


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(min_value=-(10**30), max_value=10**30),
    extra=st.integers(min_value=1, max_value=9),
    which=st.sampled_from(CONVERSIONS),
)
def test_any_sub_unit_digit_raises(
    amount: int, extra: int, which: tuple[ToUnits, FromUnits, str]
) -> None:
    to_units, from_units, _ = which
    with pytest.raises(InexactConversionError):
        to_units(f"{from_units(amount)}{extra}")


def test_module_reads_contract_dir_from_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONTRACTS_DIR_ENV, raising=False)
    assert (units_module.contracts_dir() / units_module.UNITS_SOURCE).is_file()
