"""The sequencer numbers, stamps and journals commands in groups."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from perpdex.core.types import MarketId, OrderId
from perpdex.engine import (
    Cancel,
    Engine,
    FileJournal,
    ManualClock,
    MarketConfig,
    Sequencer,
    WallClock,
)
from perpdex.engine.codec import decode

M = MarketId(0)


def test_group_commit_and_durable_seq(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "journal.bin")
    clock = ManualClock(500)
    sequencer = Sequencer(Engine([MarketConfig(M)]), clock, journal, group_size=3)
    assert [sequencer.submit(Cancel(M, OrderId(n))) for n in (1, 2)] == [1, 2]
    assert (sequencer.durable_seq, list(journal.read())) == (0, [])
    clock.time = 600
    sequencer.submit(Cancel(M, OrderId(3)))  # fills the group: it is flushed
    assert sequencer.durable_seq == 3
    assert [decode(e.entry) for e in journal.read()] == [
        (1, 500, Cancel(M, OrderId(1))),
        (2, 500, Cancel(M, OrderId(2))),
        (3, 600, Cancel(M, OrderId(3))),
    ]
    sequencer.submit(Cancel(M, OrderId(4)))
    assert sequencer.durable_seq == 3
    sequencer.flush()
    assert sequencer.durable_seq == 4
    assert journal.head.seq == 4


def test_sequencer_continues_a_journal(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "journal.bin")
    first = Sequencer(Engine([MarketConfig(M)]), ManualClock(), journal)
    first.submit(Cancel(M, OrderId(1)))
    first.flush()
    second = Sequencer(Engine([MarketConfig(M)]), ManualClock(), journal)
    assert second.submit(Cancel(M, OrderId(1))) == 2


def test_without_a_journal_everything_counts_as_durable() -> None:
    sequencer = Sequencer(Engine([MarketConfig(M)]), WallClock())
    sequencer.submit(Cancel(M, OrderId(1)))
    assert sequencer.durable_seq == sequencer.seq == 1


def test_wall_clock_is_in_milliseconds() -> None:
    assert abs(WallClock().now() - time.time() * 1000) < 5_000


def test_group_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="group_size"):
        Sequencer(Engine([MarketConfig(M)]), WallClock(), group_size=0)
