"""The event streams' encoding and the cut of a journal group into messages, without a
server."""

from __future__ import annotations

from collections import Counter

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.engine.engine_workloads import MARKETS, mixed_commands

from perpdex.cluster.event_codec import EVENT_TYPES, decode_body, encode_body, encode_event
from perpdex.cluster.event_stream import EventMessage, messages
from perpdex.core.types import MarketId, Side
from perpdex.engine import Engine, EventBus
from perpdex.engine.events import BookDelta, Event


def workload_events() -> list[Event]:
    events: list[Event] = []
    bus = EventBus(book_deltas=True)
    bus.subscribe(events.append)
    engine = Engine(MARKETS, bus)
    for seq, (time, command) in enumerate(mixed_commands(seed=7, count=3_000), 1):
        engine.apply(seq, time, command)
    return events


def test_every_event_type_round_trips() -> None:
    events = workload_events()
    assert set(Counter(type(event) for event in events)) == set(EVENT_TYPES)
    assert decode_body(encode_body([encode_event(event) for event in events])) == events


@pytest.mark.parametrize("count", [0, 1, 15, 16, 65_535, 65_536])
def test_a_body_of_any_length_decodes(count: int) -> None:
    event = BookDelta(1, MarketId(0), Side.BUY, 100, 0)
    assert decode_body(encode_body([encode_event(event)] * count)) == [event] * count


def test_a_body_of_something_else_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="Invalid value 99"):
        decode_body(b"\x91\x92\x63\x01")  # [[99, 1]]: no event type 99


def event_bytes(size: int) -> bytes:
    return bytes(size)


entry_sizes = st.lists(st.lists(st.integers(1, 40), max_size=6), min_size=1, max_size=30)


@given(sizes=entry_sizes, max_bytes=st.integers(40, 120))
def test_messages_cover_every_entry_once_in_order(sizes: list[list[int]], max_bytes: int) -> None:
    entries = [(seq, [event_bytes(n) for n in own]) for seq, own in enumerate(sizes, 1)]
    out = list(messages(entries, max_bytes))
    covered: list[int] = []
    for message in out:
        if message.part is None or message.part[0] == 1:
            covered += range(message.first, message.last + 1)
        if message.part is None:
            assert len(message.body) <= max_bytes + 5  # the array's header
    assert covered == [seq for seq, _ in entries]
    positions = [message.position for message in out]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


def test_an_entry_over_the_limit_goes_in_parts_cut_as_on_a_republish() -> None:
    big = [event_bytes(30)] * 5  # 150 bytes
    alone = list(messages([(7, big)], 64))
    with_neighbours = list(messages([(6, [event_bytes(10)]), (7, big), (8, [])], 64))
    assert [m.part for m in alone] == [(1, 3), (2, 3), (3, 3)]
    assert with_neighbours[1:4] == alone
    assert (with_neighbours[0].first, with_neighbours[0].last) == (6, 6)
    assert (with_neighbours[4].first, with_neighbours[4].last) == (8, 8)
    assert alone[1].position < alone[2].position == EventMessage(7, 7, b"").position
