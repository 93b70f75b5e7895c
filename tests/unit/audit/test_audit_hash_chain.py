"""The hash chain recomputed from the entries: a flipped byte anywhere in an entry or its
stored head, two entries swapped, a frame cut short, each named at the right sequence
number; and an audit from a sequence number anchors at the checkpoint before it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.audit.audit_testing import audit, write_journal
from tests.unit.engine.engine_workloads import mixed_commands

from perpdex.audit.audit import ChainView
from perpdex.audit.findings import Check
from perpdex.engine.commands import ChainCancel
from perpdex.engine.file_journal import frames, read_file
from perpdex.keeper.checkpoint import Checkpoint

COMMANDS = 200


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    # the workload's orders are unsigned (audited with domain=None), and without its
    # made-up refused fills: the settlement check would name them
    commands = [
        (time, command)
        for time, command in mixed_commands(7, COMMANDS * 2)
        if not (isinstance(command, ChainCancel) and command.rejected)
    ]
    return write_journal(tmp_path / "j.bin", commands[:COMMANDS])


def _frame_at(path: Path, seq: int) -> tuple[int, int]:
    """(offset, entry length) of entry ``seq``'s frame."""
    with open(path, "rb") as file:
        where, entry, _ = list(frames(file))[seq - 1]
    return where, len(entry)


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("part", ["entry", "head"])
def test_a_flipped_byte_breaks_the_chain_at_its_entry(journal: Path, part: str) -> None:
    where, length = _frame_at(journal, 120)
    # frame: length u32 | entry | head; past the seq number, in the entry or in its head
    _flip(journal, where + 4 + (length - 1 if part == "entry" else length + 5))

    report = audit(journal, domain=None)

    found = report.first
    assert found is not None and found.check is Check.HASH_CHAIN and found.seq == 120
    assert "altered" in found.detail
    assert report.summary.commands == 119 and report.summary.last_seq == 119


def test_two_swapped_commands_break_the_chain(journal: Path) -> None:
    data = journal.read_bytes()
    (a, la), (b, lb) = _frame_at(journal, 50), _frame_at(journal, 51)
    first, second = data[a : a + 4 + la + 32], data[b : b + 4 + lb + 32]
    journal.write_bytes(data[:a] + second + first + data[b + 4 + lb + 32 :])

    found = audit(journal, domain=None).first

    assert found is not None and found.check is Check.HASH_CHAIN and found.seq == 50
    assert "found sequence number 51" in found.detail


def test_a_journal_cut_short_is_named(journal: Path) -> None:
    journal.write_bytes(journal.read_bytes()[:-10])
    found = audit(journal, domain=None).first
    assert found is not None and found.check is Check.HASH_CHAIN and found.seq == COMMANDS
    assert "cut short" in found.detail


def _checkpoints(journal: Path, *seqs: int) -> list[Checkpoint]:
    heads = {e.seq: e.head for e in read_file(journal)}
    return [Checkpoint(i, seq, heads[seq], 0) for i, seq in enumerate(seqs, start=1)]


def test_checkpoints_are_checked_and_the_newer_part_is_reported(journal: Path) -> None:
    chain = ChainView(_checkpoints(journal, 40, 150), [], 0)
    report = audit(journal, chain=chain, domain=None)
    assert report.ok, report.text()
    assert report.summary.checkpoints_checked == 2
    assert report.summary.unchecked == COMMANDS - 150


def test_a_checkpoint_that_does_not_match_the_journal_is_named(journal: Path) -> None:
    good = _checkpoints(journal, 40, 150)
    forged = Checkpoint(2, 150, bytes(32 - 1) + b"\x01", 0)
    report = audit(journal, chain=ChainView([good[0], forged], [], 0), domain=None)
    found = report.first
    assert found is not None and found.check is Check.CHECKPOINT and found.seq == 150
    assert "checkpoint 2" in found.detail and "not the committed" in found.detail


def test_a_checkpoint_past_the_journal_means_entries_are_missing(journal: Path) -> None:
    checkpoints = [*_checkpoints(journal, 40), Checkpoint(2, COMMANDS + 5, b"\x07" * 32, 0)]
    found = audit(journal, chain=ChainView(checkpoints, [], 0), domain=None).first
    assert found is not None and found.check is Check.CHECKPOINT and found.seq == COMMANDS + 5
    assert f"the journal ends at entry {COMMANDS}" in found.detail


def test_an_audit_from_a_seq_anchors_at_the_checkpoint_before_it(journal: Path) -> None:
    chain = ChainView(_checkpoints(journal, 40, 150), [], 0)
    where, length = _frame_at(journal, 10)
    _flip(journal, where + 4 + length - 1)  # before the anchor: not read again

    report = audit(journal, chain=chain, from_seq=100, domain=None)

    assert report.ok, report.text()
    assert report.summary.first_seq == 41 and report.summary.commands == COMMANDS - 40
    assert report.not_run and "genesis" in report.not_run[0]
