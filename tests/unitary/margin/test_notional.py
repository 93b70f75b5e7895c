"""``margin._notional``: exact on the tick/lot grid, rounded up off it."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import given
from tests.unitary.margin.harness import outcome, prices, uint256s, unsigned

from perpdex.core import margin


@given(size=unsigned(64), price=prices)
def test_notional_matches_model(harness: VyperContract, size: int, price: int) -> None:
    assert harness.notional(size, price) == margin.notional(size, price)


@given(size=uint256s, price=uint256s)
def test_notional_reverts_like_model(harness: VyperContract, size: int, price: int) -> None:
    assert outcome(harness.notional, size, price) == outcome(margin.notional, size, price)
