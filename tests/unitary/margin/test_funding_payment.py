"""``margin._funding_payment``: payments round up, receipts down, equal to the model."""

from __future__ import annotations

from fractions import Fraction

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import outcome, signed, sizes

from perpdex.core import margin
from perpdex.core.units import units


@given(size=sizes, change=signed(88))
@example(size=1, change=1)  # a long owes a fraction of a unit: it pays a whole one
@example(size=-1, change=1)  # a short is owed a fraction: it receives nothing
def test_funding_payment_matches_model(harness: VyperContract, size: int, change: int) -> None:
    expected = outcome(margin.funding_payment, size, change)
    assert outcome(harness.funding_payment, size, change) == expected


@given(size=sizes, change=signed(88))
def test_opposite_positions_never_receive_more_than_is_paid(size: int, change: int) -> None:
    # a long and a short of the same size: what one receives never exceeds what the other pays
    paid, received = margin.funding_payment(size, change), margin.funding_payment(-size, change)
    assert paid + received <= 0
    assert -(paid + received) <= 1
    exact = Fraction(-size * change, units().size_scale)
    assert paid <= exact < paid + 1
