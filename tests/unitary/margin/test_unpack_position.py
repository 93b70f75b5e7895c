"""``packing._unpack_position``: every word decodes; reserved bits are ignored."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import uint256s

from perpdex.core import margin


@given(word=uint256s)
@example(word=1 << 248)  # flag alone
@example(word=(2**64 - 1) | (1 << 159))  # size -1, smallest quote
def test_unpack_position_matches_model(harness: VyperContract, word: int) -> None:
    assert tuple(harness.unpack_position(word)) == margin.unpack_position(word)
