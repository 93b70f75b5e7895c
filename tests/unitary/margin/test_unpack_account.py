"""``packing._unpack_account``: every word decodes, signed collateral sign-extended."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import uint256s

from perpdex.core import margin


@given(word=uint256s)
@example(word=2**119)  # the smallest collateral
@example(word=2**256 - 1)
def test_unpack_account_matches_model(harness: VyperContract, word: int) -> None:
    assert tuple(harness.unpack_account(word)) == margin.unpack_account(word)
