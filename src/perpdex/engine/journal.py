"""The journal: an append-only, hash-chained log of sequenced commands.

Every entry (a command encoded by ``codec``, starting with its sequence number; the first
is 1, each next one is one more) extends the chain: ``head_n = keccak256(head_{n-1} ||
entry_n)`` from a genesis head of 32 zero bytes. Stores keep each entry's head next to it,
so a reader checks every entry as it goes and a checkpoint can name any ``(seq, head)``.

The interface (:class:`Journal`) is small so that a replicated log can take the place of
the local stores (``file_journal``, ``sqlite_journal``): ``perpdex.cluster.journal`` keeps it on
a replicated JetStream stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from perpdex.engine.codec import seq_of
from perpdex.engine.errors import BadEntry, ChainMismatch, TornEntry
from perpdex.engine.hashchain import GENESIS, HEAD_SIZE, HashChain


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The chain after entry ``seq`` (``seq`` 0: the empty journal, genesis head)."""

    seq: int
    head: bytes


GENESIS_HEAD: Final = ChainHead(0, GENESIS)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    entry: bytes
    head: bytes  # the chain head after this entry
    where: int  # in the store: a byte offset in a file, a row id in SQLite, a stream sequence


class Journal(Protocol):
    @property
    def head(self) -> ChainHead:
        """The chain head after the last appended entry."""

    def append(self, entries: Sequence[bytes]) -> list[bytes]:
        """Add entries (each numbered one more than the last) and extend the chain;
        returns the chain head after each entry."""

    def flush(self) -> None:
        """Make everything appended durable."""

    def read(self, after: ChainHead = GENESIS_HEAD) -> Iterator[JournalEntry]:
        """Flushed entries numbered above ``after.seq``, each checked against the chain.

        ``after`` must be a head the journal went through (a snapshot's, say).
        """

    def close(self) -> None: ...


_SEQ_SIZE = 8  # an entry starts with its sequence number

# What a store hands to ``verified``: (where, entry, stored head). An empty stored head
# marks a frame cut short at the end of the store.
Frame = tuple[int, bytes, bytes]


def verified(frames: Iterable[Frame], after: ChainHead) -> Iterator[JournalEntry]:
    """Check frames against the chain and yield the entries numbered above ``after.seq``.

    Frames before ``after.seq`` are skipped unhashed; the one numbered ``after.seq`` must
    store ``after.head``. Raises a ``JournalError`` naming the first bad entry.
    """
    check = ChainCheck(after)
    for frame in frames:
        item = check(frame)
        if item is not None:
            yield item
    check.end()


class ChainCheck:
    """``verified`` one frame at a time, for a reader that is handed frames as they come
    (a follower of a live stream)."""

    def __init__(self, after: ChainHead) -> None:
        self._after = after
        self._chain = HashChain(after.head)
        self._anchored = after.seq == 0
        self._expected = after.seq + 1
        self._where = 0

    def __call__(self, frame: Frame) -> JournalEntry | None:
        """The frame's entry once checked; None for a frame at or before ``after``."""
        where, entry, stored = frame
        self._where = where
        expected = self._expected
        if not stored:
            raise TornEntry(expected, where, "entry cut short")
        if len(entry) < _SEQ_SIZE or len(stored) != HEAD_SIZE:
            raise BadEntry(expected, where, f"malformed frame ({len(entry)}-byte entry)")
        seq = seq_of(entry)
        if not self._anchored:
            after = self._after
            if seq < after.seq:
                return None
            if seq > after.seq:
                raise BadEntry(after.seq, where, "entry missing")
            if stored != after.head:
                raise ChainMismatch(seq, where, "stored head is not the expected one")
            self._anchored = True
            return None
        if seq != expected:
            raise BadEntry(expected, where, f"found sequence number {seq}")
        (head,) = self._chain.extend((entry,))
        if head != stored:
            raise ChainMismatch(seq, where, "stored head is not keccak256(previous head || entry)")
        self._expected = expected + 1
        return JournalEntry(seq, entry, head, where)

    def end(self) -> None:
        """Raises if the frames ended before reaching ``after``."""
        if not self._anchored:
            raise BadEntry(self._after.seq, self._where, "the journal ends before this entry")
