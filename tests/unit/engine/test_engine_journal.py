"""Journal stores: the hash chain, group appends, verification, torn tails."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from Crypto.Hash import keccak
from hypothesis import given
from hypothesis import strategies as st

from perpdex.core.types import MarketId, OrderId
from perpdex.engine import (
    BadEntry,
    Cancel,
    ChainHead,
    ChainMismatch,
    FileJournal,
    SqliteJournal,
    TornEntry,
    open_journal,
    verify_journal,
)
from perpdex.engine.codec import encode
from perpdex.engine.hashchain import GENESIS, HashChain
from perpdex.engine.journal import Journal


def entries(first: int, count: int) -> list[bytes]:
    return [
        encode(seq, seq * 10, Cancel(MarketId(0), OrderId(seq)))
        for seq in range(first, first + count)
    ]


def reference_heads(items: list[bytes], head: bytes = GENESIS) -> list[bytes]:
    heads = []
    for item in items:
        head = keccak.new(data=head + item, digest_bits=256).digest()
        heads.append(head)
    return heads


@given(st.lists(st.binary(max_size=400), max_size=8))
def test_chain_is_keccak256_of_previous_head_and_entry(items: list[bytes]) -> None:
    assert HashChain().extend(items) == reference_heads(items)


def test_chain_of_empty_journal_is_genesis() -> None:
    assert bytes(32) == GENESIS
    assert HashChain().head == GENESIS


@pytest.fixture(params=["file", "sqlite"])
def path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return tmp_path / ("journal.bin" if request.param == "file" else "journal.sqlite")


def test_append_flush_read_verify(path: Path) -> None:
    journal = open_journal(path)
    journal.append(entries(1, 3))
    journal.append(entries(4, 2))
    journal.flush()
    heads = reference_heads(entries(1, 5))
    assert journal.head == ChainHead(5, heads[-1])
    assert [(e.seq, e.entry, e.head) for e in journal.read()] == list(
        zip(range(1, 6), entries(1, 5), heads, strict=True)
    )
    assert [e.seq for e in journal.read(ChainHead(3, heads[2]))] == [4, 5]
    journal.close()
    assert verify_journal(path) == ChainHead(5, heads[-1])


def test_reopening_continues_the_chain(path: Path) -> None:
    journal = open_journal(path)
    journal.append(entries(1, 2))
    journal.close()
    journal = open_journal(path)
    assert journal.head.seq == 2
    journal.append(entries(3, 2))
    journal.close()
    assert verify_journal(path) == ChainHead(4, reference_heads(entries(1, 4))[-1])


def test_reading_after_a_head_the_journal_never_had_fails(path: Path) -> None:
    journal = open_journal(path)
    journal.append(entries(1, 3))
    journal.flush()
    with pytest.raises(ChainMismatch) as error:
        list(journal.read(ChainHead(2, bytes(32))))
    assert error.value.seq == 2
    with pytest.raises(BadEntry):
        list(journal.read(ChainHead(7, bytes(32))))
    journal.close()


def test_empty_journal_verifies_to_genesis(path: Path) -> None:
    open_journal(path).close()
    assert verify_journal(path) == ChainHead(0, GENESIS)


def write_file(path: Path, count: int) -> bytes:
    journal = FileJournal(path)
    journal.append(entries(1, count))
    journal.close()
    return path.read_bytes()


def frame_offsets(data: bytes) -> list[int]:
    offsets, at = [], 8
    while at < len(data):
        offsets.append(at)
        at += 4 + int.from_bytes(data[at : at + 4], "big") + 32
    return offsets


def test_a_flipped_bit_names_the_first_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "journal.bin"
    data = bytearray(write_file(path, 6))
    offsets = frame_offsets(bytes(data))
    data[offsets[3] + 4 + 12] ^= 0x01  # inside entry 4's time stamp
    path.write_bytes(bytes(data))
    with pytest.raises(ChainMismatch) as error:
        verify_journal(path)
    assert (error.value.seq, error.value.where) == (4, offsets[3])


def test_a_rewritten_entry_with_a_recomputed_head_breaks_the_next_one(tmp_path: Path) -> None:
    """Forging one entry and its head does not help: the next head no longer follows."""
    path = tmp_path / "journal.bin"
    good = entries(1, 4)
    forged = [*good[:2], encode(3, 999, Cancel(MarketId(0), OrderId(77))), good[3]]
    heads = reference_heads(forged[:3]) + reference_heads(good)[3:]
    data = b"PDXJRNL1" + b"".join(
        len(e).to_bytes(4, "big") + e + h for e, h in zip(forged, heads, strict=True)
    )
    path.write_bytes(data)
    with pytest.raises(ChainMismatch) as error:
        verify_journal(path)
    assert error.value.seq == 4


def test_a_missing_entry_is_a_sequence_gap(tmp_path: Path) -> None:
    path = tmp_path / "journal.bin"
    data = write_file(path, 5)
    offsets = frame_offsets(data)
    path.write_bytes(data[: offsets[2]] + data[offsets[3] :])
    with pytest.raises(BadEntry) as error:
        verify_journal(path)
    assert error.value.seq == 3


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.bin"
    path.write_bytes(b"hello world")
    with pytest.raises(BadEntry):
        verify_journal(path)


@pytest.mark.parametrize("keep", [9, 10, 20, 60, -33, -1])
def test_a_torn_tail_is_reported_or_tolerated_then_cut_off(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "journal.bin"
    data = write_file(path, 3)
    offsets = frame_offsets(data)
    cut = keep if keep > 0 else len(data) + keep
    path.write_bytes(data[:cut])
    complete = sum(1 for start in [*offsets[1:], len(data)] if start <= cut)
    with pytest.raises(TornEntry) as error:
        verify_journal(path)
    assert error.value.seq == complete + 1
    heads = reference_heads(entries(1, 3))
    expected = ChainHead(complete, heads[complete - 1] if complete else GENESIS)
    assert verify_journal(path, allow_torn_tail=True) == expected
    journal = FileJournal(path)  # opening to write cuts the torn frame off
    assert journal.head == expected
    journal.append(entries(complete + 1, 1))
    journal.close()
    assert verify_journal(path).seq == complete + 1


def test_sqlite_tampering_is_found(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    journal.append(entries(1, 4))
    journal.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE journal SET entry = ? WHERE seq = 2", (entries(2, 1)[0] + b"!",))
    with pytest.raises(ChainMismatch) as error:
        verify_journal(path)
    assert error.value.seq == 2


def test_fsync_option(tmp_path: Path) -> None:
    journal: Journal = FileJournal(tmp_path / "journal.bin", fsync=True)
    journal.append(entries(1, 2))
    journal.flush()
    assert os.path.getsize(tmp_path / "journal.bin") > 8
    journal.close()
