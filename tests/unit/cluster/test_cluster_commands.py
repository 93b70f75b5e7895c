"""The command stream's wire form, shards and message ids, without a server."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.engine.test_engine_codec import (
    accounts,
    chain_cancels,
    commands,
    i64,
    new_orders,
    rejected_fills,
    u32,
)

from perpdex.cluster.commands import (
    WireCommand,
    decode_command,
    decode_numbered,
    encode_command,
    routes,
    with_order_id,
)
from perpdex.cluster.streams import StreamLayout
from perpdex.core.types import (
    Address,
    MarketId,
    OrderHash,
    OrderId,
    Price,
    Side,
    Size,
    TriggerDirection,
)
from perpdex.engine import (
    CancelAccount,
    CancelAll,
    CancelReason,
    ChainCancel,
    Command,
    IndexPrice,
    NewOrder,
    SetDeadMan,
    Tick,
)
from perpdex.engine.codec import DecodeError, encode

trigger_orders = st.builds(
    replace,
    new_orders,
    trigger=st.sampled_from([TriggerDirection.AT_OR_ABOVE, TriggerDirection.AT_OR_BELOW]),
    trigger_price=i64.map(Price),
)
index_prices = st.builds(
    IndexPrice,
    market=u32.map(MarketId),
    price=i64.map(Price),
    positions=st.lists(st.tuples(accounts, i64), max_size=4).map(tuple),
)
wire_commands: st.SearchStrategy[WireCommand] = st.one_of(
    commands.filter(lambda command: not isinstance(command, Tick)),  # type: ignore[arg-type]
    trigger_orders,
    index_prices,
)
LAYOUT = StreamLayout(shards=3)
ALICE = Address("0x" + "a1" * 20)
HASH = OrderHash(b"\x07" * 32)


def order(market: int) -> NewOrder:
    return NewOrder(
        market=MarketId(market),
        order_id=OrderId(0),
        account=ALICE,
        side=Side.BUY,
        price=Price(100),
        size=Size(1),
    )


@given(command=wire_commands)
def test_every_published_command_round_trips(command: WireCommand) -> None:
    assert decode_command(encode_command(command)) == command


@given(command=wire_commands)
def test_the_wire_form_is_the_journal_entry_without_its_stamp(command: WireCommand) -> None:
    entry = encode(5, 6, command)
    assert entry.endswith(encode_command(command))
    assert len(entry) - len(encode_command(command)) == 16


@given(command=wire_commands, cut=st.integers(1, 30))
def test_cut_commands_are_refused(command: WireCommand, cut: int) -> None:
    data = encode_command(command)
    with pytest.raises(DecodeError):
        decode_command(data[: max(0, len(data) - cut)])


def test_a_tick_never_travels() -> None:
    with pytest.raises(TypeError):
        encode_command(Tick())  # type: ignore[arg-type]
    with pytest.raises(DecodeError):
        decode_command(encode(0, 0, Tick())[16:])


@given(command=wire_commands, stream_seq=st.integers(1, 2**63))
def test_the_engine_decodes_a_command_numbered_as_with_order_id_says(
    command: WireCommand, stream_seq: int
) -> None:
    numbered = decode_numbered(encode_command(command), stream_seq)
    assert numbered == with_order_id(command, stream_seq)


def test_the_engine_numbers_new_orders_by_their_stream_sequence() -> None:
    assert with_order_id(order(1), 41).order_id == 41
    cancel_all = CancelAll(MarketId(1), ALICE)
    assert with_order_id(cancel_all, 41) is cancel_all


def test_a_new_order_goes_to_its_market_shard_under_its_order_hash() -> None:
    (routed,) = routes(order(4), LAYOUT, order_hash=HASH)
    assert routed.shard == 1
    assert routed.msg_id == HASH
    assert decode_command(routed.data) == order(4)
    with pytest.raises(ValueError):
        routes(order(4), LAYOUT)


@pytest.mark.parametrize(
    "command", [CancelAccount(ALICE), SetDeadMan(ALICE, 1_000)], ids=["cancel_account", "dead_man"]
)
def test_account_wide_commands_go_to_every_shard_each_under_its_own_id(
    command: Command,
) -> None:
    routed = routes(command, LAYOUT, origin=b"gw1/7")  # type: ignore[arg-type]
    assert [part.shard for part in routed] == LAYOUT.all_shards
    assert {part.command for part in routed} == {command}
    # one stream for every shard: equal ids on two subjects would store one of them
    assert len({part.msg_id for part in routed}) == 3


@given(cancel=chain_cancels)
def test_a_chain_cancel_is_split_by_shard_and_loses_nothing(cancel: ChainCancel) -> None:
    parts = routes(cancel, LAYOUT, origin=b"risk")
    assert [part.shard for part in parts] == sorted({part.shard for part in parts})
    for part in parts:
        assert isinstance(part.command, ChainCancel)
        assert all(LAYOUT.shard_of(market) == part.shard for market, _ in part.command.orders)
    orders = sorted(order for part in parts for order in part.command.orders)  # type: ignore[union-attr]
    assert orders == sorted(cancel.orders)
    rejected = [part.command.rejected for part in parts if part.command.rejected]  # type: ignore[union-attr]
    assert rejected == ([cancel.rejected] if cancel.rejected else [])


@given(fill=rejected_fills)
def test_a_rejected_fill_goes_with_its_market_even_without_orders(fill: object) -> None:
    cancel = ChainCancel(orders=(), reason=CancelReason.FILL_REJECTED, rejected=fill)  # type: ignore[arg-type]
    (part,) = routes(cancel, LAYOUT, origin=b"risk")
    assert part.shard == LAYOUT.shard_of(fill.market)  # type: ignore[attr-defined]


def test_a_retry_has_the_same_id_and_another_request_another() -> None:
    cancel_all = CancelAll(MarketId(2), ALICE)
    (first,) = routes(cancel_all, LAYOUT, origin=b"gw1/session3/request9")
    (retry,) = routes(cancel_all, LAYOUT, origin=b"gw1/session3/request9")
    (later,) = routes(cancel_all, LAYOUT, origin=b"gw1/session3/request12")
    assert first.msg_id == retry.msg_id != later.msg_id
