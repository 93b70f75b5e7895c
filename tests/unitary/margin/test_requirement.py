"""``margin._requirement``: the margin of a position at a fraction, rounded up."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import fractions, int256s, outcome, prices, sizes, uint256s

from perpdex.core import margin


@given(size=sizes, price=prices, fraction_ppm=fractions)
@example(size=1, price=1, fraction_ppm=1)  # a fraction of a unit rounds up to 1
@example(size=-(2**63), price=2**64, fraction_ppm=10**6)
def test_requirement_matches_model(
    harness: VyperContract, size: int, price: int, fraction_ppm: int
) -> None:
    expected = margin.requirement(size, price, fraction_ppm)
    assert harness.requirement(size, price, fraction_ppm) == expected


@given(size=int256s, price=uint256s, fraction_ppm=uint256s)
@example(size=-(2**255), price=0, fraction_ppm=0)  # abs() of the smallest int256 overflows
@example(size=2**200, price=2**56, fraction_ppm=1)
def test_requirement_reverts_like_model(
    harness: VyperContract, size: int, price: int, fraction_ppm: int
) -> None:
    expected = outcome(margin.requirement, size, price, fraction_ppm)
    assert outcome(harness.requirement, size, price, fraction_ppm) == expected
