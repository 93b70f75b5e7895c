"""``packing._pack_position``: one word per position, reverting on an out-of-range field."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from hypothesis import strategies as st
from tests.unitary.margin.harness import REVERTED, outcome, quotes, signed, sizes

from perpdex.core import margin


@given(size=sizes, quote=quotes, isolated=st.booleans(), funding=signed(88))
@example(size=0, quote=0, isolated=True, funding=5)  # a realised flat position packs to zero
@example(size=-1, quote=-1, isolated=True, funding=-(2**87))
def test_pack_position_matches_model(
    harness: VyperContract, size: int, quote: int, isolated: bool, funding: int
) -> None:
    word = margin.pack_position(size, quote, isolated, funding)
    assert harness.pack_position(size, quote, isolated, funding) == word
    assert margin.unpack_position(word) == (size, quote, isolated and word != 0)
    assert harness.funding_snapshot(word) == margin.funding_snapshot(word)
    assert margin.funding_snapshot(word) == (funding if size else 0)


@given(size=signed(66), quote=signed(98), isolated=st.booleans(), funding=signed(90))
@example(size=2**63, quote=0, isolated=False, funding=0)
@example(size=-(2**63) - 1, quote=0, isolated=False, funding=0)
@example(size=0, quote=2**95, isolated=True, funding=0)
@example(size=1, quote=0, isolated=False, funding=2**87)
def test_pack_position_reverts_like_model(
    harness: VyperContract, size: int, quote: int, isolated: bool, funding: int
) -> None:
    expected = outcome(margin.pack_position, size, quote, isolated, funding)
    assert outcome(harness.pack_position, size, quote, isolated, funding) == expected


def test_pack_position_reverts_below_int96_quote(harness: VyperContract) -> None:
    assert outcome(harness.pack_position, 1, -(2**95) - 1, False, 0) == REVERTED
