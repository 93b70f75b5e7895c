"""``/journal?shard=K&from=SEQ&limit=N``: an engine's journal for auditors, page by page.

The embedded node's one engine is shard 0, read from its journal file in a worker thread
(the matching loop never waits for it); a cluster reader's shards are read from their
JetStream streams (``Sources.shard_journal``). Either way a page is checked against the hash
chain as it is read, from the nearest head already verified (``journal_pages``); an entry
that breaks it ends the page, and a page from it is a ``journal_broken`` error.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request

from perpdex.engine.file_journal import read_file
from perpdex.http import models
from perpdex.http.errors import (
    ERROR_RESPONSES,
    JOURNAL_BROKEN_RESPONSE,
    ApiErrorCode,
    journal_broken,
    not_found,
    unavailable,
)
from perpdex.http.journal_pages import (
    BROKEN_CHAIN,
    Anchor,
    Anchors,
    JournalUnreachable,
    PageBuilder,
    ending_at_a_break,
    page_of,
)
from perpdex.http.reads import SourcesDep, released_gateway, slow_read
from perpdex.http.sources import Sources

MAX_PAGE: Final = 1000
EMBEDDED_SHARD: Final = 0

router = APIRouter(tags=["journal"], responses=ERROR_RESPONSES | JOURNAL_BROKEN_RESPONSE)


@router.get("/journal", response_model=models.JournalPage)
async def journal(
    request: Request,
    sources: SourcesDep,
    first: Annotated[int, Query(alias="from", ge=1, le=2**63 - 1)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    shard: Annotated[int, Query(ge=0, lt=2**16, description="The engine shard")] = 0,
) -> models.JournalPage:
    """Entries from seq ``from`` on, at most ``limit``; the journal's durable head."""
    try:
        if sources.shard_journal is None:
            return await _embedded(request, sources, first, limit, shard)
        pages = sources.shard_journal(shard)
        if pages is None:
            raise not_found(ApiErrorCode.NOT_FOUND, f"no engine shard {shard} in this cluster")
        try:
            return await pages.page(first, limit)
        except JournalUnreachable:
            raise unavailable(f"shard {shard}'s journal") from None
    except BROKEN_CHAIN as error:
        raise journal_broken(error) from None


async def _embedded(
    request: Request, sources: Sources, first: int, limit: int, shard: int
) -> models.JournalPage:
    if shard != EMBEDDED_SHARD:
        raise not_found(
            ApiErrorCode.NOT_FOUND,
            f"no engine shard {shard}: this node runs one engine, shard {EMBEDDED_SHARD}",
        )
    path = sources.journal()
    live = released_gateway(sources).commands.journal
    if path is None or live is None:
        raise unavailable("the engine's journal")
    head = live.head  # durable: the gateway was released
    anchors: Anchors = request.app.state.journal_anchors
    anchor = anchors.before(path, first - 1)
    built = PageBuilder(first, limit, head.seq)
    await slow_read(request, partial(_read, path, anchor, built))
    if built.last is not None:
        anchors.add(path, built.last)
    return page_of(head, built)


def _read(path: Path, anchor: Anchor, built: PageBuilder) -> None:
    if built.complete:
        return
    with ending_at_a_break(built):
        for entry in read_file(path, anchor.head):
            if built.take(entry):
                break
