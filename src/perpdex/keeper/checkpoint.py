"""On-chain checkpoints of the engine journals: posted by the keeper, checked by anyone.

The ``Checkpoints`` contract holds, for each engine shard, a gapless, append-only list of
``(seq, head)`` pairs of that shard's journal hash chain (``head_n = keccak256(head_{n-1} ||
entry_n)``, genesis 32 zero bytes); index 0 is that genesis. :class:`Checkpointer` posts a
shard journal's head whenever the journal has advanced past the shard's latest checkpoint;
:func:`verify_against_chain` recomputes the chain of a shard's journal and checks it against
every checkpoint of that shard (docs/checkpoints.md). The embedded node's one engine is shard
0, its journal a file or SQLite store; a cluster's shard K journals to JetStream::

    Checkpointer(web3, contract, operator, "journal.bin").sync()             # shard 0
    journal = JetStreamJournal(urls, layout, shard)
    Checkpointer(web3, contract, operator, journal.read, shard=shard).sync()  # shard K
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from perpdex.chain.transact import send
from perpdex.core.types import EMBEDDED_SHARD, ShardId
from perpdex.engine.errors import TornEntry
from perpdex.engine.file_journal import read_file
from perpdex.engine.hashchain import GENESIS
from perpdex.engine.journal import GENESIS_HEAD, ChainHead
from perpdex.engine.sqlite_journal import MAGIC as SQLITE_MAGIC
from perpdex.engine.sqlite_journal import read_sqlite


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Checkpoint ``index`` of engine shard ``shard``'s log in the contract: that journal's
    chain ``head`` after entry ``seq``, posted at block time ``timestamp``."""

    index: int
    seq: int
    head: bytes
    timestamp: int
    shard: ShardId = EMBEDDED_SHARD


GENESIS_CHECKPOINT: Final = Checkpoint(0, GENESIS_HEAD.seq, GENESIS, 0)
"""Index 0 of shard 0: the journal's genesis, the contract's answer before the first post."""


def genesis_checkpoint(shard: ShardId) -> Checkpoint:
    """Index 0 of ``shard``'s log: every shard's journal starts at the same genesis."""
    return Checkpoint(0, GENESIS_HEAD.seq, GENESIS, 0, shard)


class HashedEntry(Protocol):
    """A journal entry as a checkpoint sees it: its number and the chain head after it
    (``perpdex.engine.journal.JournalEntry``, from any journal's reader)."""

    @property
    def seq(self) -> int: ...

    @property
    def head(self) -> bytes: ...


JournalReader = Callable[[], Iterable[HashedEntry]]
"""Reads a shard's journal from genesis, checking its chain as it goes, and yields its
entries in order: ``JetStreamJournal(urls, layout, shard).read`` for a cluster's shard."""

JournalSource = str | os.PathLike[str] | JournalReader
"""A journal file or SQLite store (the embedded node's), or a reader of a shard's journal."""


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    """A journal that matches every on-chain checkpoint of its shard.

    ``checkpoint`` is the latest (the genesis if none was posted), ``journal`` the journal's
    own head: its entries after ``checkpoint.seq`` are not committed on-chain yet.
    """

    checkpoint: Checkpoint
    journal: ChainHead


class CheckpointError(Exception):
    """A journal does not match what the exchange committed to on-chain."""

    def __init__(self, checkpoint: Checkpoint, detail: str) -> None:
        super().__init__(
            f"shard {checkpoint.shard} checkpoint {checkpoint.index} (seq {checkpoint.seq}):"
            f" {detail}"
        )
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


def latest_checkpoint(contract: Contract, shard: ShardId = EMBEDDED_SHARD) -> Checkpoint:
    """The latest checkpoint of ``shard`` (its genesis before any post)."""
    index, seq, head, timestamp = contract.functions.latest(shard).call()
    return Checkpoint(int(index), int(seq), bytes(head), int(timestamp), shard)


def read_checkpoints(contract: Contract, shard: ShardId = EMBEDDED_SHARD) -> list[Checkpoint]:
    """Every posted checkpoint of ``shard``, index 1 first, read in pages of ``MAX_PAGE``."""
    count = int(contract.functions.count(shard).call())
    page_size = int(contract.functions.MAX_PAGE().call())
    checkpoints: list[Checkpoint] = []
    for first in range(1, count + 1, page_size):
        limit = min(page_size, count + 1 - first)
        page = contract.functions.checkpoints(shard, first, limit).call()
        checkpoints += (
            Checkpoint(first + offset, int(seq), bytes(head), int(timestamp), shard)
            for offset, (seq, head, timestamp) in enumerate(page)
        )
    return checkpoints


def verify_against_chain(
    journal: JournalSource,
    contract: Contract,
    *,
    shard: ShardId = EMBEDDED_SHARD,
    allow_torn_tail: bool = False,
) -> VerifiedCheckpoint:
    """Recompute the hash chain of ``journal`` (a file or SQLite store, or a reader of a
    shard's journal) from genesis and check that it goes through every checkpoint of
    ``shard`` in ``contract``.

    Raises the engine's :class:`~perpdex.engine.errors.JournalError` if the journal is not a
    hash chain in itself (a flipped byte: ``ChainMismatch``), :class:`CheckpointMismatch` if
    it is one but not the committed one (a consistently rewritten log, or another shard's),
    and :class:`JournalTooShort` if it lacks committed entries; the first failing checkpoint
    is named. A torn last frame of a file (a crash mid-write) is accepted with
    ``allow_torn_tail``.
    """
    checkpoints = read_checkpoints(contract, shard)
    heads, end = _journal_heads(
        _reader(journal), {c.seq for c in checkpoints}, allow_torn_tail=allow_torn_tail
    )
    for checkpoint in checkpoints:
        _check(checkpoint, heads, end)
    return VerifiedCheckpoint(checkpoints[-1] if checkpoints else genesis_checkpoint(shard), end)


class Checkpointer:
    """Posts the head of ``journal`` (a file or SQLite store, or a reader of a shard's
    journal) to ``shard``'s log in ``contract``, from ``operator``.

    Stateless between calls: :meth:`sync` reads the shard's latest checkpoint from the chain
    first, so any number of restarts never posts the same head twice (nor could it: the
    contract refuses a seq that is not above the shard's latest). One keeper process may
    hold a checkpointer per shard; their logs never touch.
    """

    def __init__(
        self,
        web3: Web3,
        contract: Contract,
        operator: LocalAccount,
        journal: JournalSource,
        *,
        shard: ShardId = EMBEDDED_SHARD,
    ) -> None:
        self._web3 = web3
        self._contract = contract
        self._operator = operator
        self._read = _reader(journal)
        self._file = None if callable(journal) else Path(journal)
        self.shard = shard

    def sync(self) -> Checkpoint | None:
        """Post the journal's head if it is past the shard's latest checkpoint; returns the
        new checkpoint, or None if the chain is up to date.

        The journal is re-verified from genesis and must go through the latest checkpoint
        (else :class:`CheckpointMismatch` or :class:`JournalTooShort`: the keeper never
        posts a fork). A file's torn last frame (the engine mid-write) is left for the next
        call, and what is posted is made durable (``fsync``) first, so a power loss cannot
        take back a committed entry; a JetStream journal's entries are durable once read
        (the stream holds only what a majority of its replicas stored).
        """
        latest = latest_checkpoint(self._contract, self.shard)
        heads, end = _journal_heads(self._read, {latest.seq}, allow_torn_tail=True)
        _check(latest, heads, end)
        if end.seq == latest.seq:
            return None
        if self._file is not None:
            _fsync(self._file)
        post = self._contract.functions.post(self.shard, end.seq, end.head)
        receipt = send(self._web3, self._operator, post)
        (event,) = self._contract.events.CheckpointPosted().process_receipt(receipt)
        args = event["args"]
        return Checkpoint(
            int(args["index"]),
            int(args["seq"]),
            bytes(args["head"]),
            int(args["timestamp"]),
            ShardId(int(args["shard"])),
        )


def _reader(journal: JournalSource) -> JournalReader:
    """``journal`` as a reader: a path reads its store of either kind, told apart as
    ``verify_journal`` does, with the engine's reader (each entry re-hashed)."""
    if callable(journal):
        return journal
    path = Path(journal)

    def entries() -> Iterator[HashedEntry]:
        with open(path, "rb") as file:
            is_sqlite = file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
        return read_sqlite(path) if is_sqlite else read_file(path)

    return entries


def _journal_heads(
    read: JournalReader, seqs: Collection[int], *, allow_torn_tail: bool
) -> tuple[dict[int, bytes], ChainHead]:
    """One pass over the journal from genesis, each entry re-hashed by its reader: the heads
    after the entries numbered ``seqs`` (and the genesis, 0), and the final head."""
    heads = {GENESIS_HEAD.seq: GENESIS_HEAD.head}
    end = GENESIS_HEAD
    try:
        for entry in read():
            if entry.seq in seqs:
                heads[entry.seq] = entry.head
            end = ChainHead(entry.seq, entry.head)
    except TornEntry:
        if not allow_torn_tail:
            raise
    return heads, end


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
