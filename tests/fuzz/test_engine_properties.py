"""Property tests: the engine against the naive matcher, determinism, replay equivalence."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.engine.engine_reference import reference_fills
from tests.unit.engine.engine_workloads import MARKETS, Run, mixed_commands

from perpdex.bench.engine import FillRecorder, parse_row
from perpdex.core.types import Address, MarketId
from perpdex.engine import (
    ChainHead,
    Engine,
    EventBus,
    FileJournal,
    ManualClock,
    MarketConfig,
    Sequencer,
    recover,
    snapshot_bytes,
    write_snapshot,
)
from perpdex.engine.events import Event

rows = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "op": st.just("new"),
                "account": st.integers(0, 2),
                "side": st.sampled_from(["buy", "sell"]),
                "price": st.integers(97, 103),
                "size": st.integers(1, 9),
                "tif": st.sampled_from(["GTC", "GTC", "IOC", "FOK", "POST_ONLY"]),
            }
        ),
        st.fixed_dictionaries({"op": st.just("cancel"), "id": st.integers(1, 60)}),
    ),
    max_size=80,
)


def numbered(drawn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give new orders increasing ids, as the workload generator does."""
    out, next_id = [], 1
    for row in drawn:
        if row["op"] == "new":
            row = {**row, "id": next_id}
            next_id += 1
        out.append(row)
    return out


@settings(max_examples=400, deadline=None)
@given(rows)
def test_fills_equal_the_naive_matcher(drawn: list[dict[str, Any]]) -> None:
    workload = numbered(drawn)
    recorder = FillRecorder()
    engine = Engine([MarketConfig(MarketId(0))], recorder, self_trade_prevention=False)
    sequencer = Sequencer(engine, ManualClock())
    accounts: dict[int, Address] = {}
    for row in workload:
        sequencer.submit(parse_row(row, accounts))
        book = engine.markets[MarketId(0)]
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask
    fills = [(t.order_id, m.order_id, price, size) for t, m, price, size in recorder.fills]
    assert fills == reference_fills(workload)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), count=st.integers(1, 400), data=st.data())
def test_runs_replays_and_snapshots_agree(seed: int, count: int, data: st.DataObject) -> None:
    commands = mixed_commands(seed, count)
    cut = data.draw(st.integers(0, count), label="snapshot after")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        journal_a, journal_b = FileJournal(folder / "a.bin"), FileJournal(folder / "b.bin")
        first = Run(journal=journal_a, group_size=7).feed(commands[:cut])
        write_snapshot(folder / "snap", first.engine, journal_a.head)
        first.feed(commands[cut:])
        second = Run(journal=journal_b, group_size=64).feed(commands)
        assert first.events == second.events
        assert first.state() == second.state()
        heads = {journal_a.head, journal_b.head}
        assert len(heads) == 1

        for snapshot in (None, folder / "snap"):
            events: list[Event] = []
            bus = EventBus()
            bus.subscribe(events.append)
            engine, head = recover(FileJournal(folder / "a.bin"), MARKETS, bus, snapshot=snapshot)
            assert {head} == heads
            assert snapshot_bytes(engine, ChainHead(count, b"")) == first.state()
            start = 0 if snapshot is None else cut
            assert events == [event for event in first.events if event.seq > start]
