"""On-chain checkpoints of the engine journal: posted by the keeper, checked by anyone.

The ``Checkpoints`` contract holds a gapless, append-only list of ``(seq, head)`` pairs of
the journal's hash chain (``head_n = keccak256(head_{n-1} || entry_n)``, genesis 32 zero
bytes); index 0 is that genesis. :class:`Checkpointer` posts the journal's head whenever
the journal has advanced past the latest checkpoint; :func:`verify_against_chain` recomputes
the chain from a journal file and checks it against every checkpoint (docs/checkpoints.md).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from perpdex.chain.transact import send
from perpdex.engine.errors import TornEntry
from perpdex.engine.file_journal import read_file
from perpdex.engine.hashchain import GENESIS
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, JournalEntry
from perpdex.engine.sqlite_journal import MAGIC as SQLITE_MAGIC
from perpdex.engine.sqlite_journal import read_sqlite


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Checkpoint ``index`` of the contract: the journal's chain ``head`` after entry ``seq``,
    posted at block time ``timestamp``."""

    index: int
    seq: int
    head: bytes
    timestamp: int


GENESIS_CHECKPOINT: Final = Checkpoint(0, GENESIS_HEAD.seq, GENESIS, 0)
"""Index 0: the journal's genesis, the contract's answer before the first post."""


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    """A journal that matches every on-chain checkpoint.

    ``checkpoint`` is the latest (the genesis if none was posted), ``journal`` the journal's
    own head: its entries after ``checkpoint.seq`` are not committed on-chain yet.
    """

    checkpoint: Checkpoint
    journal: ChainHead


class CheckpointError(Exception):
    """A journal does not match what the exchange committed to on-chain."""

    def __init__(self, checkpoint: Checkpoint, detail: str) -> None:
        super().__init__(f"checkpoint {checkpoint.index} (seq {checkpoint.seq}): {detail}")
        self.checkpoint = checkpoint


class CheckpointMismatch(CheckpointError):
    """The journal's head after entry ``checkpoint.seq`` is not the committed one: the log
    differs from the one the exchange committed to (rewritten, forged or another log)."""

    def __init__(self, checkpoint: Checkpoint, journal_head: bytes) -> None:
        super().__init__(
            checkpoint,
            f"journal head 0x{journal_head.hex()} is not the committed 0x{checkpoint.head.hex()}",
        )
        self.journal_head = journal_head


class JournalTooShort(CheckpointError):
    """The journal ends before entry ``checkpoint.seq``: committed entries are missing."""

    def __init__(self, checkpoint: Checkpoint, journal: ChainHead) -> None:
        super().__init__(checkpoint, f"the journal ends at entry {journal.seq}")
        self.journal = journal


def latest_checkpoint(contract: Contract) -> Checkpoint:
    """The contract's latest checkpoint (:data:`GENESIS_CHECKPOINT` before any post)."""
    index, seq, head, timestamp = contract.functions.latest().call()
    return Checkpoint(int(index), int(seq), bytes(head), int(timestamp))


def read_checkpoints(contract: Contract) -> list[Checkpoint]:
    """Every posted checkpoint, index 1 first, read in pages of the contract's ``MAX_PAGE``."""
    count = int(contract.functions.count().call())
    page_size = int(contract.functions.MAX_PAGE().call())
    checkpoints: list[Checkpoint] = []
    for first in range(1, count + 1, page_size):
        page = contract.functions.checkpoints(first, min(page_size, count + 1 - first)).call()
        checkpoints += (
            Checkpoint(first + offset, int(seq), bytes(head), int(timestamp))
            for offset, (seq, head, timestamp) in enumerate(page)
        )
    return checkpoints


def verify_against_chain(
    journal_path: str | os.PathLike[str], contract: Contract, *, allow_torn_tail: bool = False
) -> VerifiedCheckpoint:
    """Recompute the hash chain of the journal at ``journal_path`` (a file or SQLite store)
    from genesis and check that it goes through every checkpoint of ``contract``.

    Raises the engine's :class:`~perpdex.engine.errors.JournalError` if the journal is not a
    hash chain in itself (a flipped byte: ``ChainMismatch``), :class:`CheckpointMismatch` if
    it is one but not the committed one (a consistently rewritten log), and
    :class:`JournalTooShort` if it lacks committed entries; the first failing checkpoint is
    named. A torn last frame (a crash mid-write) is accepted with ``allow_torn_tail``.
    """
    checkpoints = read_checkpoints(contract)
    heads, end = _journal_heads(
        Path(journal_path), {c.seq for c in checkpoints}, allow_torn_tail=allow_torn_tail
    )
    for checkpoint in checkpoints:
        _check(checkpoint, heads, end)
    return VerifiedCheckpoint(checkpoints[-1] if checkpoints else GENESIS_CHECKPOINT, end)


class Checkpointer:
    """Posts the head of the journal at ``journal_path`` to ``contract`` from ``operator``.

    Stateless between calls: :meth:`sync` reads the chain's latest checkpoint first, so any
    number of restarts never posts the same head twice (nor could it: the contract refuses
    a seq that is not above the latest).
    """

    def __init__(
        self,
        web3: Web3,
        contract: Contract,
        operator: LocalAccount,
        journal_path: str | os.PathLike[str],
    ) -> None:
        self._web3 = web3
        self._contract = contract
        self._operator = operator
        self._journal_path = Path(journal_path)

    def sync(self) -> Checkpoint | None:
        """Post the journal's head if it is past the latest checkpoint; returns the new
        checkpoint, or None if the chain is up to date.

        The journal is re-verified from genesis and must go through the latest checkpoint
        (else :class:`CheckpointMismatch` or :class:`JournalTooShort`: the keeper never
        posts a fork). A torn last frame (the engine mid-write) is left for the next call,
        and what is posted is made durable (``fsync``) first, so a power loss cannot take
        back a committed entry.
        """
        latest = latest_checkpoint(self._contract)
        heads, end = _journal_heads(self._journal_path, {latest.seq}, allow_torn_tail=True)
        _check(latest, heads, end)
        if end.seq == latest.seq:
            return None
        _fsync(self._journal_path)
        receipt = send(self._web3, self._operator, self._contract.functions.post(end.seq, end.head))
        (event,) = self._contract.events.CheckpointPosted().process_receipt(receipt)
        args = event["args"]
        return Checkpoint(
            int(args["index"]), int(args["seq"]), bytes(args["head"]), int(args["timestamp"])
        )


def _journal_heads(
    path: Path, seqs: Collection[int], *, allow_torn_tail: bool
) -> tuple[dict[int, bytes], ChainHead]:
    """One pass over the journal from genesis, each entry re-hashed (the engine's reader):
    the heads after the entries numbered ``seqs`` (and the genesis, 0), and the final head."""
    heads = {GENESIS_HEAD.seq: GENESIS_HEAD.head}
    end = GENESIS_HEAD
    try:
        for entry in _entries(path):
            if entry.seq in seqs:
                heads[entry.seq] = entry.head
            end = ChainHead(entry.seq, entry.head)
    except TornEntry:
        if not allow_torn_tail:
            raise
    return heads, end


def _entries(path: Path) -> Iterator[JournalEntry]:
    """The entries of a journal store of either kind, told apart as ``verify_journal`` does."""
    with open(path, "rb") as file:
        is_sqlite = file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    return read_sqlite(path) if is_sqlite else read_file(path)


def _check(checkpoint: Checkpoint, heads: dict[int, bytes], end: ChainHead) -> None:
    if checkpoint.seq > end.seq:
        raise JournalTooShort(checkpoint, end)
    if heads[checkpoint.seq] != checkpoint.head:
        raise CheckpointMismatch(checkpoint, heads[checkpoint.seq])


def _fsync(path: Path) -> None:
    """Make the journal's written bytes durable (the writer may not have synced them yet)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
