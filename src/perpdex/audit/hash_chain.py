"""The journal's hash chain recomputed from the published entries alone.

``head_n = keccak256(head_{n-1} || entry_n)`` from the anchor (genesis: 32 zero bytes).
Every entry must carry the next sequence number and the head published beside it must be
the recomputed one. The first entry that breaks either ends the audit's reading: nothing
after it can be tied to what the exchange committed to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from perpdex.audit.findings import Check, Discrepancy
from perpdex.audit.source import PublishedBreakError, PublishedEntry
from perpdex.engine.codec import seq_of
from perpdex.engine.hashchain import HEAD_SIZE, HashChain
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, JournalEntry

_SEQ_SIZE = 8


class ChainCheck:
    """Yields the entries of ``published`` that extend the chain from ``anchor``; stops at
    the first that does not and keeps it in ``broken``."""

    def __init__(self, published: Iterable[PublishedEntry], anchor: ChainHead = GENESIS_HEAD):
        self._published = published
        self.anchor = anchor
        self.last = anchor
        self.broken: Discrepancy | None = None

    def __iter__(self) -> Iterator[JournalEntry]:
        try:
            yield from self._checked()
        except PublishedBreakError as error:
            self._break(error.seq, f"the publisher refuses the entry, its chain broken: {error}")

    def _checked(self) -> Iterator[JournalEntry]:
        chain = HashChain(self.anchor.head)
        expected = self.anchor.seq + 1
        for position, item in enumerate(self._published):
            entry = item.entry
            if not item.stored or len(entry) < _SEQ_SIZE:
                self._break(expected, f"entry cut short ({item.where})")
                return
            seq = seq_of(entry)
            if seq != expected:
                self._break(expected, f"found sequence number {seq} instead ({item.where})")
                return
            (head,) = chain.extend((entry,))
            if len(item.stored) != HEAD_SIZE or item.stored != head:
                self._break(
                    seq,
                    f"published head 0x{item.stored.hex()} is not keccak256(previous head ||"
                    f" entry) = 0x{head.hex()} ({item.where}): the entry or its head was altered",
                )
                return
            self.last = ChainHead(seq, head)
            yield JournalEntry(seq, entry, head, position)
            expected += 1

    def _break(self, seq: int, detail: str) -> None:
        self.broken = Discrepancy(Check.HASH_CHAIN, seq, detail)
