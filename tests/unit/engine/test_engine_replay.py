"""Replaying the journal rebuilds every book bit for bit, after a clean stop or a crash."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.unit.engine.engine_workloads import MARKETS, Run, mixed_commands

from perpdex.engine import (
    ChainHead,
    EventBus,
    FileJournal,
    SnapshotError,
    open_journal,
    read_snapshot,
    recover,
    snapshot_bytes,
    verify_journal,
    write_snapshot,
)
from perpdex.engine.events import Event
from perpdex.engine.journal import Journal

COMMANDS = mixed_commands(seed=7, count=1_500)


def recovered(journal: Journal, snapshot: Path | None = None) -> tuple[list[Event], bytes, int]:
    """Events of the replay, the state it rebuilt, and its last sequence number."""
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    engine, head = recover(journal, MARKETS, bus, snapshot=snapshot)
    return events, snapshot_bytes(engine, ChainHead(head.seq, b"")), head.seq


@pytest.fixture(scope="module")
def uninterrupted() -> Run:
    return Run().feed(COMMANDS)


def prefix(run: Run, seq: int) -> tuple[list[Event], bytes]:
    """The events and state of an uninterrupted run of the first ``seq`` commands."""
    if seq == len(COMMANDS):
        return run.events, run.state()
    short = Run().feed(COMMANDS[:seq])
    return short.events, short.state()


@pytest.mark.parametrize("suffix", [".bin", ".sqlite"])
def test_replay_gives_the_same_events_and_books(
    tmp_path: Path, suffix: str, uninterrupted: Run
) -> None:
    journal = open_journal(tmp_path / f"journal{suffix}")
    live = Run(journal=journal).feed(COMMANDS)
    assert live.events == uninterrupted.events
    events, state, seq = recovered(open_journal(tmp_path / f"journal{suffix}"))
    assert seq == len(COMMANDS)
    assert events == live.events
    assert state == live.state()


def test_snapshot_plus_later_entries_equals_full_replay(tmp_path: Path, uninterrupted: Run) -> None:
    journal = FileJournal(tmp_path / "journal.bin")
    run = Run(journal=journal).feed(COMMANDS[:900])
    write_snapshot(tmp_path / "snap", run.engine, journal.head)
    run.feed(COMMANDS[900:])
    events, state, seq = recovered(journal, tmp_path / "snap")
    assert seq == len(COMMANDS)
    assert state == uninterrupted.state()
    assert events == [event for event in uninterrupted.events if event.seq > 900]


def test_a_snapshot_the_journal_never_went_through_is_refused(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "journal.bin")
    run = Run(journal=journal).feed(COMMANDS[:50])
    write_snapshot(tmp_path / "snap", run.engine, ChainHead(50, bytes(32)))
    with pytest.raises(Exception, match="stored head"):
        recovered(journal, tmp_path / "snap")


def test_snapshot_round_trip_is_canonical(tmp_path: Path, uninterrupted: Run) -> None:
    head = ChainHead(len(COMMANDS), b"\x01" * 32)
    write_snapshot(tmp_path / "snap", uninterrupted.engine, head)
    engine, loaded_head = read_snapshot(tmp_path / "snap")
    assert loaded_head == head
    assert snapshot_bytes(engine, head) == (tmp_path / "snap").read_bytes()


def test_garbage_is_not_a_snapshot(tmp_path: Path) -> None:
    (tmp_path / "snap").write_bytes(b"\x93\x01\x02")
    with pytest.raises(SnapshotError):
        read_snapshot(tmp_path / "snap")


def test_replay_after_a_torn_write_matches_the_run_up_to_the_last_complete_entry(
    tmp_path: Path, uninterrupted: Run
) -> None:
    full = tmp_path / "full.bin"
    Run(journal=FileJournal(full)).feed(COMMANDS)
    data = full.read_bytes()
    for cut in [*random.Random(3).sample(range(8, len(data)), 6), len(data) - 1, 9]:
        torn = tmp_path / f"torn-{cut}.bin"
        torn.write_bytes(data[:cut])
        complete = verify_journal(torn, allow_torn_tail=True).seq
        events, state, seq = recovered(FileJournal(torn))
        assert seq == complete
        expected_events, expected_state = prefix(uninterrupted, complete)
        assert events == expected_events
        assert state == expected_state


WRITER = """
import sys
from perpdex.engine import FileJournal
from tests.unit.engine.engine_workloads import Run, mixed_commands
commands = mixed_commands(seed=7, count=1_500)
run = Run(journal=FileJournal(sys.argv[1]), group_size=3)
print("ready", flush=True)
while True:  # keep writing until killed: the journal grows by whole groups, or torn ones
    for time, command in commands:
        run.clock.time = time
        run.sequencer.submit(command)
        if run.sequencer.seq == len(commands):
            run.sequencer.flush()
            sys.exit(0)
"""


def test_replay_after_sigkill_mid_stream(tmp_path: Path, uninterrupted: Run) -> None:
    path = tmp_path / "journal.bin"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.PIPE,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline() == b"ready\n"
    deadline = time.monotonic() + 30
    while (not path.exists() or path.stat().st_size < 20_000) and time.monotonic() < deadline:
        time.sleep(0.001)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert writer.returncode == -signal.SIGKILL, "the writer finished before it was killed"
    complete = verify_journal(path, allow_torn_tail=True).seq
    assert 0 < complete < len(COMMANDS)
    events, state, seq = recovered(FileJournal(path))
    assert seq == complete
    expected_events, expected_state = prefix(uninterrupted, complete)
    assert events == expected_events
    assert state == expected_state
