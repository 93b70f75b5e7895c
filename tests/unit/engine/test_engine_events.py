"""Events come in command order, and book deltas rebuild the depth of every book."""

from __future__ import annotations

import pytest
from tests.unit.engine.engine_workloads import Run, mixed_commands

from perpdex.core.types import Address, Side
from perpdex.engine.events import BookDelta, Event, EventBus

COMMANDS = mixed_commands(seed=5, count=2_000)
ADDRESS = Address("0x" + "11" * 20)


def depth_from_deltas(events: list[Event]) -> dict[tuple[int, Side, int], int]:
    depth: dict[tuple[int, Side, int], int] = {}
    for event in events:
        if isinstance(event, BookDelta):
            key = (event.market, event.side, event.price)
            if event.size:
                depth[key] = event.size
            else:
                depth.pop(key, None)
    return depth


def engine_depth(run: Run) -> dict[tuple[int, Side, int], int]:
    return {
        (market, side.side, level.price): level.total
        for market, book in run.engine.markets.items()
        for side in (book.bids, book.asks)
        for level in side.depth()
    }


def test_book_deltas_rebuild_the_depth_at_every_point() -> None:
    run = Run()
    for start in range(0, len(COMMANDS), 250):
        run.feed(COMMANDS[start : start + 250])
        assert depth_from_deltas(run.events) == engine_depth(run)
    assert sum(isinstance(event, BookDelta) for event in run.events) > 500


def test_events_come_in_sequence_order() -> None:
    run = Run().feed(COMMANDS)
    seqs = [event.seq for event in run.events]
    assert seqs == sorted(seqs)
    assert set(seqs) <= set(range(1, len(COMMANDS) + 1))


def test_a_bus_may_do_without_book_deltas() -> None:
    full = Run().feed(COMMANDS).events
    quiet = Run(book_deltas=False).feed(COMMANDS).events
    assert quiet == [event for event in full if not isinstance(event, BookDelta)]


def test_an_unsubscribed_subscriber_gets_nothing_more() -> None:
    bus = EventBus()
    kept: list[Event] = []
    left: list[Event] = []
    bus.subscribe(kept.append)
    bus.subscribe(left.append)
    bus.dead_man_set(1, ADDRESS, 0)
    bus.unsubscribe(left.append)  # an equal bound method, as a gateway passes it
    bus.dead_man_set(2, ADDRESS, 0)
    assert [e.seq for e in kept] == [1, 2]
    assert [e.seq for e in left] == [1]
    with pytest.raises(ValueError):
        bus.unsubscribe(left.append)
