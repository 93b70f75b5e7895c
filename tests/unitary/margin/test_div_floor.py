"""``margin._div_floor``: rounds toward minus infinity, unlike the EVM's truncating SDIV."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from hypothesis import strategies as st
from tests.unitary.margin.harness import REVERTED, int256s, outcome

from perpdex.core import margin

INT256_MIN = -(2**255)


@given(numerator=int256s, denominator=st.integers(min_value=1, max_value=2**255 - 1))
@example(numerator=-7, denominator=2)
@example(numerator=INT256_MIN, denominator=1)
def test_div_floor_matches_model_for_positive_denominators(
    harness: VyperContract, numerator: int, denominator: int
) -> None:
    assert harness.div_floor(numerator, denominator) == margin.div_floor_checked(
        numerator, denominator
    )


@given(numerator=int256s, denominator=int256s)
@example(numerator=INT256_MIN, denominator=-1)
@example(numerator=1, denominator=0)
@example(numerator=7, denominator=-2)
def test_div_floor_reverts_like_model(
    harness: VyperContract, numerator: int, denominator: int
) -> None:
    expected = outcome(margin.div_floor_checked, numerator, denominator)
    assert outcome(harness.div_floor, numerator, denominator) == expected


def test_div_floor_reverts_on_overflow(harness: VyperContract) -> None:
    assert outcome(harness.div_floor, INT256_MIN, -1) == REVERTED
