"""``margin._fee``: a fee on a notional in parts per million, rounded up."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import fractions, outcome, uint256s, unsigned

from perpdex.core import margin


@given(notional=unsigned(128), fee_ppm=fractions)
@example(notional=1, fee_ppm=1)
def test_fee_matches_model(harness: VyperContract, notional: int, fee_ppm: int) -> None:
    assert harness.fee(notional, fee_ppm) == margin.fee(notional, fee_ppm)


@given(notional=uint256s, fee_ppm=uint256s)
@example(notional=2**256 - 1, fee_ppm=1)
def test_fee_reverts_like_model(harness: VyperContract, notional: int, fee_ppm: int) -> None:
    assert outcome(harness.fee, notional, fee_ppm) == outcome(margin.fee, notional, fee_ppm)
