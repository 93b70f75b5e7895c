"""The same commands give the same events, books and journal head, every time."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from tests.unit.engine.engine_workloads import Run, mixed_commands

from perpdex.engine import FileJournal, verify_journal

COMMANDS = mixed_commands(seed=11, count=1_500)


def test_two_runs_agree_on_events_state_and_head(tmp_path: Path) -> None:
    first = Run(journal=FileJournal(tmp_path / "a.bin"), group_size=16).feed(COMMANDS)
    second = Run(journal=FileJournal(tmp_path / "b.bin"), group_size=1000).feed(COMMANDS)
    assert first.events == second.events
    assert first.state() == second.state()
    assert verify_journal(tmp_path / "a.bin") == verify_journal(tmp_path / "b.bin")


def test_a_different_command_gives_a_different_head(tmp_path: Path) -> None:
    Run(journal=FileJournal(tmp_path / "a.bin")).feed(COMMANDS)
    changed = list(COMMANDS)
    time, command = changed[700]
    changed[700] = (time + 1, command)  # only the time stamp differs
    Run(journal=FileJournal(tmp_path / "b.bin")).feed(changed)
    assert verify_journal(tmp_path / "a.bin") != verify_journal(tmp_path / "b.bin")


DIGEST = """
import hashlib, sys
from perpdex.engine import FileJournal
from tests.unit.engine.engine_workloads import Run, mixed_commands
run = Run(journal=FileJournal(sys.argv[1])).feed(mixed_commands(seed=11, count=1_500))
run.sequencer.journal.close()
print(hashlib.sha256(repr(run.events).encode() + run.state()).hexdigest())
print(run.sequencer.journal.head.head.hex())
"""


def test_string_hash_randomisation_changes_nothing(tmp_path: Path) -> None:
    """Dict and set orders keyed by strings vary between processes; the engine must not."""
    outputs = []
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", DIGEST, str(tmp_path / f"{hash_seed}.bin")],
            cwd=Path(__file__).resolve().parents[3],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            check=True,
            text=True,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].split()) == 2


def test_the_engine_makes_no_reference_cycles(tmp_path: Path) -> None:
    """Reference counting frees all it allocates, so it may run with the collector off."""
    gc.collect()
    gc.disable()
    try:
        journal = FileJournal(tmp_path / "j.bin")
        run = Run(journal=journal).feed(COMMANDS)
        assert any(type(e).__name__ == "Filled" for e in run.events)
        journal.close()
        del run, journal
        assert gc.collect() == 0
    finally:
        gc.enable()
