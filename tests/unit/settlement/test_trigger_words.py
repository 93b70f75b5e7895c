"""A settle batch's trigger word reads back as the order index and trigger price it was
packed from (the position manager rebuilds a settled trigger order's hash from it)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.settlement.test_batcher_payload import MAKER, signed

from perpdex.core.types import Price, TriggerDirection
from perpdex.settlement.encoding import pack_trigger, unpack_trigger


@settings(max_examples=30, deadline=None)
@given(index=st.integers(0, 2**16 - 1), price=st.integers(1, 2**64 - 1))
def test_a_trigger_word_reads_back(index: int, price: int) -> None:
    stop = signed(
        MAKER,
        is_buy=False,
        trigger_price=Price(price),
        trigger_direction=TriggerDirection.AT_OR_BELOW,
    )
    assert unpack_trigger(pack_trigger(index, stop)) == (index, price)
