"""perpdex.services.state: one node per state directory, one folder per chain identity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perpdex.core.types import Address
from perpdex.services.state import (
    CURSOR_FILE,
    IDENTITY_FILE,
    JOURNAL_FILE,
    ChainIdentity,
    ChainIdentityError,
    StateDirLockedError,
    StateLock,
    open_chain_state,
)

EXCHANGE = Address("0x5FbDB2315678afecb367f032d93F642f64180aa3")
CHAIN_A = ChainIdentity(31337, "0x" + "aa" * 32, EXCHANGE, 5, "0x" + "a5" * 32)
# a fresh anvil from the same mnemonic: same chain id, Exchange address and block
CHAIN_B = ChainIdentity(31337, "0x" + "bb" * 32, EXCHANGE, 5, "0x" + "b5" * 32)

HOLD = """
import sys
from pathlib import Path
from perpdex.services.state import StateLock
StateLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``tmp_path``'s lock until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_second_node_on_a_state_dir_is_refused_naming_the_holder(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    journal = tmp_path / "31337-x" / JOURNAL_FILE
    journal.parent.mkdir()
    journal.write_bytes(b"entries")
    with pytest.raises(StateDirLockedError) as refused:
        StateLock(tmp_path).acquire()
    assert refused.value.holder is not None
    assert refused.value.holder.pid == holder.pid
    assert f"pid {holder.pid} (`python" in str(refused.value)
    assert "started 20" in str(refused.value)
    with pytest.raises(StateDirLockedError):
        StateLock(tmp_path).ensure_free()
    assert journal.read_bytes() == b"entries"


def test_lock_of_a_killed_node_is_free_again(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    lock = StateLock(tmp_path)
    lock.acquire()  # the kernel dropped the dead holder's flock
    assert lock.held
    lock.release()


def test_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    first, second = StateLock(tmp_path), StateLock(tmp_path)
    first.acquire()
    with pytest.raises(StateDirLockedError, match=f"pid {os.getpid()}"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


def test_each_chain_keeps_its_own_state(tmp_path: Path) -> None:
    a = open_chain_state(tmp_path, CHAIN_A)
    a.journal.write_bytes(b"chain A's orders")
    b = open_chain_state(tmp_path, CHAIN_B)
    assert b.directory != a.directory
    assert not b.journal.exists()  # a new chain starts from an empty journal
    assert a.journal.read_bytes() == b"chain A's orders"  # kept for audit
    assert open_chain_state(tmp_path, CHAIN_A).journal.read_bytes() == b"chain A's orders"


def test_journal_of_another_chain_is_refused(tmp_path: Path) -> None:
    a = open_chain_state(tmp_path, CHAIN_A)
    a.journal.write_bytes(b"chain A's orders")
    # chain A's folder put where chain B's state belongs (copied, restored from a backup)
    a.directory.rename(tmp_path / CHAIN_B.slug)
    with pytest.raises(ChainIdentityError, match="another chain") as refused:
        open_chain_state(tmp_path, CHAIN_B)
    assert "refusing to replay" in str(refused.value)
    assert (tmp_path / CHAIN_B.slug / JOURNAL_FILE).read_bytes() == b"chain A's orders"


@pytest.mark.parametrize("stray", [JOURNAL_FILE, CURSOR_FILE])
def test_state_without_identity_is_refused(tmp_path: Path, stray: str) -> None:
    folder = tmp_path / CHAIN_A.slug
    folder.mkdir()
    (folder / stray).write_bytes(b"of unknown origin")
    with pytest.raises(ChainIdentityError, match="without an identity file"):
        open_chain_state(tmp_path, CHAIN_A)
    assert not (folder / IDENTITY_FILE).exists()


def test_identity_differs_by_genesis_alone() -> None:
    assert CHAIN_A.slug != CHAIN_B.slug
    assert CHAIN_A.slug.startswith("31337-0x5fbdb231-")
