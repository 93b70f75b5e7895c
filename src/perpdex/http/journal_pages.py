"""What every ``/journal`` page is made of, wherever the journal is read from (the embedded
node's file, a cluster shard's JetStream stream): verified anchors to start from, and a page
taken from entries already checked against the chain.

A page starts from the nearest chain head already verified at or before ``from`` (the last
entry of each page served is remembered, with where the store holds it), so paging through
a journal reads it once, not from genesis per page: entries before the anchor are skipped
unhashed, and the anchor itself must match.

A stored entry that breaks the chain ends its page before it (what comes before is sound
and served); a page that would start with it is refused as ``journal_broken`` (500: the
operator's store is at fault, not the request), so an auditor learns where it breaks.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Protocol

import msgspec

from perpdex.engine.codec import decode
from perpdex.engine.errors import BadEntry, ChainMismatch
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, JournalEntry
from perpdex.gateway.protocol import hex0x
from perpdex.http import models

ANCHORS_KEPT: Final = 4096


@dataclass(frozen=True, slots=True)
class Anchor:
    """A verified chain head and where its store holds that entry (a byte offset, a stream
    sequence; 0 for the genesis head, which no entry holds)."""

    head: ChainHead
    where: int


GENESIS_ANCHOR: Final = Anchor(GENESIS_HEAD, 0)


class Anchors:
    """Verified anchors of one journal, by seq (bounded: the oldest go first). ``journal``
    names the journal they belong to: another one's (a new file) starts them afresh."""

    def __init__(self) -> None:
        self.journal: Hashable = None
        self._seqs: list[int] = []
        self._anchors: dict[int, Anchor] = {}

    def before(self, journal: Hashable, seq: int) -> Anchor:
        """The nearest verified anchor at or before ``seq`` (genesis if none)."""
        if journal != self.journal:  # another chain's journal: its heads say nothing here
            self.journal, self._seqs, self._anchors = journal, [], {}
        at = bisect.bisect_right(self._seqs, seq)
        return GENESIS_ANCHOR if at == 0 else self._anchors[self._seqs[at - 1]]

    def add(self, journal: Hashable, entry: JournalEntry) -> None:
        if journal != self.journal or entry.seq in self._anchors:
            return
        bisect.insort(self._seqs, entry.seq)
        self._anchors[entry.seq] = Anchor(ChainHead(entry.seq, entry.head), entry.where)
        if len(self._seqs) > ANCHORS_KEPT:
            del self._anchors[self._seqs.pop(0)]


class PageBuilder:
    """The entries ``first`` to ``through`` (the durable head), at most ``limit``, taken
    from the journal's verified entries in order; never past ``through``: the writer may be
    appending there."""

    def __init__(self, first: int, limit: int, through: int) -> None:
        self._first = first
        self._limit = limit
        self._through = through
        self.entries: list[models.JournalEntry] = []
        self.last: JournalEntry | None = None
        """The last entry taken: the next page's anchor."""
        self.complete = first > through

    def take(self, entry: JournalEntry) -> bool:
        """Take ``entry`` (verified, the one after the previous); True once the page is
        complete."""
        if entry.seq >= self._first:
            self.entries.append(served_entry(entry.entry, entry.head))
            self.last = entry
        self.complete = entry.seq >= self._through or len(self.entries) == self._limit
        return self.complete


BROKEN_CHAIN: Final = (BadEntry, ChainMismatch)
"""What a stored entry that breaks the hash chain raises as it is read."""


@contextmanager
def ending_at_a_break(built: PageBuilder) -> Iterator[None]:
    """Reading into ``built``: a stored entry that breaks the chain ends the page before it,
    or raises when the page has no entry yet (the break is where it would start)."""
    try:
        yield
    except BROKEN_CHAIN:
        if not built.entries:
            raise


def served_entry(data: bytes, head: bytes) -> models.JournalEntry:
    seq, stamp, command = decode(data)
    return models.JournalEntry(
        seq=seq,
        time=stamp,
        command=type(command).__name__,
        fields=msgspec.to_builtins(command),
        entry=hex0x(data),
        head=hex0x(head),
    )


def page_of(head: ChainHead, built: PageBuilder) -> models.JournalPage:
    return models.JournalPage(
        head=models.JournalHead(seq=head.seq, head=hex0x(head.head)), entries=built.entries
    )


class ShardJournal(Protocol):
    """A cluster engine shard's journal, paged for ``/journal?shard=K`` (the reader's)."""

    async def page(self, first: int, limit: int) -> models.JournalPage:
        """Entries from ``first`` on, at most ``limit``, verified; the shard's durable head.
        Raises :class:`JournalUnreachable` when the journal cannot be read now."""


class JournalUnreachable(Exception):
    """The journal's store does not answer now (a cluster's NATS): ``/journal`` answers
    ``unavailable``, and the auditor asks again."""
