"""``packing._pack_position``: one word per position, reverting on an out-of-range field."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from hypothesis import strategies as st
from tests.unitary.margin.harness import REVERTED, outcome, quotes, signed, sizes

from perpdex.core import margin


@given(size=sizes, quote=quotes, isolated=st.booleans())
@example(size=0, quote=0, isolated=True)  # a realised flat position packs to zero
@example(size=-1, quote=-1, isolated=True)
def test_pack_position_matches_model(
    harness: VyperContract, size: int, quote: int, isolated: bool
) -> None:
    word = margin.pack_position(size, quote, isolated)
    assert harness.pack_position(size, quote, isolated) == word
    assert margin.unpack_position(word) == (size, quote, isolated and word != 0)


@given(size=signed(66), quote=signed(98), isolated=st.booleans())
@example(size=2**63, quote=0, isolated=False)
@example(size=-(2**63) - 1, quote=0, isolated=False)
@example(size=0, quote=2**95, isolated=True)
def test_pack_position_reverts_like_model(
    harness: VyperContract, size: int, quote: int, isolated: bool
) -> None:
    expected = outcome(margin.pack_position, size, quote, isolated)
    assert outcome(harness.pack_position, size, quote, isolated) == expected


def test_pack_position_reverts_below_int96_quote(harness: VyperContract) -> None:
    assert outcome(harness.pack_position, 1, -(2**95) - 1, False) == REVERTED
