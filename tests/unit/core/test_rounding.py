"""Rounding helpers: exact rational references, and div_trunc against the EVM itself."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from math import ceil, floor, trunc
from typing import Any

import boa
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from perpdex.core.rounding import (
    div_ceil,
    div_floor,
    div_round_against,
    div_trunc,
    mul_div_ceil,
    mul_div_floor,
    mul_div_round_against,
    mul_div_trunc,
)

INT256_MIN = -(2**255)
INT256_MAX = 2**255 - 1
int256s = st.integers(min_value=INT256_MIN, max_value=INT256_MAX)
small = st.integers(min_value=-(10**6), max_value=10**6)
nonzero = st.integers(min_value=-(2**128), max_value=2**128).filter(bool)

DIVS: list[tuple[Callable[[int, int], int], Callable[[Fraction], int]]] = [
    (div_floor, floor),
    (div_ceil, ceil),
    (div_trunc, trunc),
]
MUL_DIVS: list[tuple[Callable[[int, int, int], int], Callable[[Fraction], int]]] = [
    (mul_div_floor, floor),
    (mul_div_ceil, ceil),
    (mul_div_trunc, trunc),
]

SIGNED_DIVISION = """
@external
@pure
def sdiv(a: int256, b: int256) -> int256:
    return unsafe_div(a, b)

@external
@pure
def checked_div(a: int256, b: int256) -> int256:
    return a // b
"""


@pytest.fixture(scope="module")
def evm() -> Any:
    return boa.loads(SIGNED_DIVISION)


def test_python_floor_is_not_evm_division() -> None:
    assert div_floor(-7, 2) == -4
    assert div_trunc(-7, 2) == -3
    assert div_ceil(-7, 2) == -3
    assert div_trunc(7, -2) == -3
    assert div_ceil(7, 2) == 4


@settings(max_examples=150, deadline=None)
@given(a=int256s, b=int256s.filter(bool))
def test_div_trunc_equals_sdiv(evm: Any, a: int, b: int) -> None:
    assume(not (a == INT256_MIN and b == -1))  # the one overflow: SDIV wraps, Vyper reverts
    assert div_trunc(a, b) == evm.sdiv(a, b) == evm.checked_div(a, b)


@settings(max_examples=300, deadline=None)
@given(a=st.integers(), b=nonzero, which=st.sampled_from(DIVS))
def test_div_matches_exact_fraction(
    a: int, b: int, which: tuple[Callable[[int, int], int], Callable[[Fraction], int]]
) -> None:
    helper, reference = which
    assert helper(a, b) == reference(Fraction(a, b))


@settings(max_examples=300, deadline=None)
@given(a=st.integers(), b=st.integers(), c=nonzero, which=st.sampled_from(MUL_DIVS))
def test_mul_div_matches_exact_fraction(
    a: int, b: int, c: int, which: tuple[Callable[[int, int, int], int], Callable[[Fraction], int]]
) -> None:
    helper, reference = which
    assert helper(a, b, c) == reference(Fraction(a * b, c))


@settings(max_examples=300, deadline=None)
@given(a=small, b=small, c=nonzero)
def test_rounding_against_the_trader(a: int, b: int, c: int) -> None:
    exact = Fraction(a * b, c)
    debit = mul_div_round_against(a, b, c, debit=True)
    credit = mul_div_round_against(a, b, c, debit=False)
    assert credit <= exact <= debit
    assert debit - credit == (0 if exact.denominator == 1 else 1)
    assert div_round_against(a * b, c, debit=True) == debit


@pytest.mark.parametrize(
    "call",
    [
        lambda: div_floor(1, 0),
        lambda: div_ceil(1, 0),
        lambda: div_trunc(-1, 0),
        lambda: mul_div_floor(1, 2, 0),
        lambda: mul_div_ceil(1, 2, 0),
        lambda: mul_div_trunc(1, 2, 0),
        lambda: div_round_against(1, 0, debit=True),
        lambda: mul_div_round_against(1, 1, 0, debit=False),
    ],
)
def test_zero_divisor_raises(call: Callable[[], int]) -> None:
    with pytest.raises(ZeroDivisionError):
        call()
