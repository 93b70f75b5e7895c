"""``margin._div_ceil``: unsigned division rounded up, reverting where its sum overflows."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import outcome, uint256s

from perpdex.core import margin

UINT256_MAX = 2**256 - 1


@given(numerator=uint256s, denominator=uint256s)
@example(numerator=UINT256_MAX, denominator=1)
@example(numerator=UINT256_MAX, denominator=2)
@example(numerator=0, denominator=0)
@example(numerator=5, denominator=0)
def test_div_ceil_matches_model(harness: VyperContract, numerator: int, denominator: int) -> None:
    expected = outcome(margin.div_ceil_checked, numerator, denominator)
    assert outcome(harness.div_ceil, numerator, denominator) == expected
