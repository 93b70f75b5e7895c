"""The journal encoding round-trips every command and refuses what it did not write."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perpdex.core.types import (
    Address,
    ClientOrderId,
    MarketId,
    OrderHash,
    OrderId,
    Price,
    Side,
    Size,
)
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    CancelReason,
    ChainCancel,
    Command,
    NewOrder,
    RejectedFill,
    SetDeadMan,
    StpMode,
    Tick,
)
from perpdex.engine.codec import DecodeError, decode, decode_order, encode, encode_order

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
accounts = st.text(max_size=60).map(Address)
client_ids = st.text(max_size=40).map(ClientOrderId)

new_orders = st.builds(
    NewOrder,
    market=u32.map(MarketId),
    order_id=u64.map(OrderId),
    account=accounts,
    side=st.sampled_from(Side),
    price=i64.map(Price),
    size=i64.map(Size),
    tif=st.sampled_from(Tif),
    client_id=st.none() | client_ids,
    reduce_only=st.booleans(),
    expiry=i64,
    stp=st.sampled_from(StpMode),
    payload=st.binary(max_size=300),
    position=i64,
)
rejected_fills = st.builds(
    RejectedFill,
    market=u32.map(MarketId),
    price=i64.map(Price),
    size=i64.map(Size),
    taker_side=st.sampled_from(Side),
    maker_account=accounts,
    taker_account=accounts,
    maker_hash=st.binary(min_size=32, max_size=32).map(OrderHash),
    taker_hash=st.binary(min_size=32, max_size=32).map(OrderHash),
    cause=st.text(max_size=40),
)
chain_cancels = st.builds(
    ChainCancel,
    orders=st.lists(st.tuples(u32.map(MarketId), u64.map(OrderId)), max_size=5).map(tuple),
    reason=st.sampled_from(CancelReason),
    rejected=st.none() | rejected_fills,
)
commands: st.SearchStrategy[Command] = st.one_of(
    new_orders,
    st.builds(Cancel, u32.map(MarketId), u64.map(OrderId)),
    st.builds(CancelByClientId, u32.map(MarketId), accounts, client_ids),
    st.builds(CancelAll, u32.map(MarketId), accounts),
    st.builds(CancelAccount, accounts),
    st.builds(
        Amend,
        market=u32.map(MarketId),
        order_id=u64.map(OrderId),
        price=i64.map(Price),
        size=i64.map(Size),
        payload=st.binary(max_size=100),
    ),
    st.builds(SetDeadMan, accounts, i64),
    chain_cancels,
    st.just(Tick()),
)


@given(seq=u64, time=i64, command=commands)
def test_every_command_round_trips(seq: int, time: int, command: Command) -> None:
    assert decode(encode(seq, time, command)) == (seq, time, command)


@given(order=new_orders)
def test_order_terms_round_trip(order: NewOrder) -> None:
    assert decode_order(encode_order(order)) == order


def test_client_id_none_and_empty_differ() -> None:
    base = NewOrder(
        market=MarketId(0),
        order_id=OrderId(1),
        account=Address("a"),
        side=Side.BUY,
        price=Price(1),
        size=Size(1),
    )
    empty = replace(base, client_id=ClientOrderId(""))
    assert decode(encode(1, 0, base))[2] == base
    assert decode(encode(1, 0, empty))[2] == empty


def test_a_typical_order_entry_is_compact() -> None:
    order = NewOrder(
        market=MarketId(0),
        order_id=OrderId(123_456),
        account=Address("0x" + "ab" * 20),
        side=Side.SELL,
        price=Price(100_000),
        size=Size(10),
    )
    assert len(encode(1, 0, order)) <= 120


@given(seq=u64, time=i64, command=commands, cut=st.integers(1, 40))
def test_truncated_entries_are_refused(seq: int, time: int, command: Command, cut: int) -> None:
    entry = encode(seq, time, command)
    with pytest.raises(DecodeError):
        decode(entry[: max(0, len(entry) - cut)])


def test_trailing_bytes_and_unknown_kinds_are_refused() -> None:
    entry = encode(1, 2, Cancel(MarketId(0), OrderId(3)))
    with pytest.raises(DecodeError):
        decode(entry + b"\x00")
    with pytest.raises(DecodeError):
        decode(entry[:16] + bytes([200]) + entry[17:])
