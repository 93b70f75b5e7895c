"""``margin._value``: a position's cash leg plus its size at a price, rounded down."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import int256s, outcome, prices, quotes, sizes, uint256s

from perpdex.core import margin


@given(size=sizes, quote=quotes, price=prices)
@example(size=-1, quote=0, price=1)  # a loss of a fraction of a unit rounds to -1
@example(size=-(2**63), quote=-(2**95), price=2**64)
def test_value_matches_model(harness: VyperContract, size: int, quote: int, price: int) -> None:
    assert harness.value(size, quote, price) == margin.value(size, quote, price)


@given(size=int256s, quote=int256s, price=uint256s)
@example(size=1, quote=0, price=2**255)  # the price does not convert to int256
@example(size=2**254, quote=0, price=2)
@example(size=0, quote=2**255 - 1, price=0)
def test_value_reverts_like_model(
    harness: VyperContract, size: int, quote: int, price: int
) -> None:
    expected = outcome(margin.value, size, quote, price)
    assert outcome(harness.value, size, quote, price) == expected
