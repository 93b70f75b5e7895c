"""``/journal?from=SEQ&limit=N``: the engine's journal for auditors, page by page.

A page is read from the journal file in a worker thread (the matching loop never waits
for it) and checked against the hash chain as it goes. It starts from the nearest chain
head the API already verified at or before ``from`` (the last entry of each page served
is remembered), so paging through the journal reads it once, not from genesis per page:
entries before the anchor are skipped unhashed, and the anchor itself must match.
"""

from __future__ import annotations

import bisect
from functools import partial
from pathlib import Path
from typing import Annotated, Final

import msgspec
from fastapi import APIRouter, Query, Request

from perpdex.engine.codec import decode
from perpdex.engine.file_journal import read_file
from perpdex.engine.journal import GENESIS_HEAD, ChainHead
from perpdex.gateway.protocol import hex0x
from perpdex.http import models
from perpdex.http.errors import ERROR_RESPONSES, ApiErrorCode, not_found, unavailable
from perpdex.http.reads import GatewayDep, SourcesDep, slow_read

MAX_PAGE: Final = 1000
ANCHORS_KEPT: Final = 4096

router = APIRouter(tags=["journal"], responses=ERROR_RESPONSES)


class Anchors:
    """Verified chain heads of one journal file, by seq (bounded: the oldest go first)."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self._seqs: list[int] = []
        self._heads: dict[int, bytes] = {}

    def before(self, path: Path, seq: int) -> ChainHead:
        """The nearest verified head at or before ``seq`` (genesis if none)."""
        if path != self.path:  # another chain's journal: its heads say nothing here
            self.path, self._seqs, self._heads = path, [], {}
        at = bisect.bisect_right(self._seqs, seq)
        if at == 0:
            return GENESIS_HEAD
        found = self._seqs[at - 1]
        return ChainHead(found, self._heads[found])

    def add(self, path: Path, head: ChainHead) -> None:
        if path != self.path or head.seq in self._heads:
            return
        bisect.insort(self._seqs, head.seq)
        self._heads[head.seq] = head.head
        if len(self._seqs) > ANCHORS_KEPT:
            del self._heads[self._seqs.pop(0)]


@router.get("/journal", response_model=models.JournalPage)
async def journal(
    request: Request,
    sources: SourcesDep,
    gateway: GatewayDep,
    first: Annotated[int, Query(alias="from", ge=1, le=2**63 - 1)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> models.JournalPage:
    """Entries from seq ``from`` on, at most ``limit``; the journal's durable head."""
    path = sources.journal()
    if path is None and sources.journal_elsewhere is not None:
        raise not_found(ApiErrorCode.NOT_FOUND, sources.journal_elsewhere)
    live = gateway.commands.journal
    if path is None or live is None:
        raise unavailable("the engine's journal")
    head = live.head  # durable: the gateway was released
    anchors: Anchors = request.app.state.journal_anchors
    anchor = anchors.before(path, first - 1)
    entries = await slow_read(request, partial(_page, path, anchor, first, limit, head.seq))
    if entries:
        last = entries[-1]
        anchors.add(path, ChainHead(last.seq, bytes.fromhex(last.head[2:])))
    return models.JournalPage(
        head=models.JournalHead(seq=head.seq, head=hex0x(head.head)), entries=entries
    )


def _page(
    path: Path, anchor: ChainHead, first: int, limit: int, through: int
) -> list[models.JournalEntry]:
    """Entries ``first`` to ``through`` (durable), at most ``limit``; never reads past
    ``through``: the writer may be appending there."""
    entries: list[models.JournalEntry] = []
    if first > through:
        return entries
    for entry in read_file(path, anchor):
        if entry.seq >= first:
            entries.append(_entry(entry.entry, entry.head))
        if entry.seq >= through or len(entries) == limit:
            break
    return entries


def _entry(data: bytes, head: bytes) -> models.JournalEntry:
    seq, stamp, command = decode(data)
    return models.JournalEntry(
        seq=seq,
        time=stamp,
        command=type(command).__name__,
        fields=msgspec.to_builtins(command),
        entry=hex0x(data),
        head=hex0x(head),
    )
