"""Where the audit reads the journal: a journal file (file or SQLite store, as the engine
writes it), or the node's HTTP API ``GET /journal?from=SEQ&limit=N``, paged and resumable.

A source yields each entry's bytes with the head its publisher stored or served beside it;
nothing here is trusted (``hash_chain`` recomputes every head). An HTTP fetch stops at the
head the journal had at the first page, so a live exchange gives the audit a fixed point;
a page that fails is asked again from the first entry not yet read, so a long fetch
survives a dropped connection or a restarted gateway.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

import msgspec

from perpdex.engine.file_journal import frames
from perpdex.engine.sqlite_journal import MAGIC as SQLITE_MAGIC
from perpdex.sdk.gateway_http import discover_http_url

log = logging.getLogger(__name__)

PAGE: Final = 1000
"""Entries asked per page: the API's largest (``http.routes.journal.MAX_PAGE``)."""
HTTP_TIMEOUT_S: Final = 60.0
"""A first page far into a long journal is read (and hashed) from genesis."""
RETRIES: Final = 6
"""Failed requests of one page before the fetch gives up (waits 0.5 s, doubling)."""


@dataclass(frozen=True, slots=True)
class PublishedEntry:
    """An entry as published: its bytes and the head stored (or served) beside it; an
    empty ``stored`` head marks a frame cut short."""

    entry: bytes
    stored: bytes
    where: str
    """Where it was read: a byte offset, a row, a URL."""


class JournalUnavailableError(Exception):
    """The journal could not be read at all (no file, no answer): nothing was audited."""


class PublishedBreakError(Exception):
    """The publisher refuses the entry at ``seq``: its own check found the stored journal
    broken there (``/journal``'s ``journal_broken``); what came before was served."""

    def __init__(self, seq: int, message: str) -> None:
        super().__init__(message)
        self.seq = seq


_BROKEN: Final = "journal_broken"


def open_source(
    journal: str, first_seq: int = 1, until: int = 0, *, shard: int | None = None
) -> Iterator[PublishedEntry]:
    """The entries of ``journal`` (a path, or an http(s)/ws(s) URL of the gateway or of its
    ``/journal``) numbered ``first_seq`` and above, as published; a gateway is read up to its
    head at the first page, or up to ``until`` if that is higher and it has them. ``shard``:
    the engine shard whose journal a URL serves (a cluster reader's); a file is one's."""
    if "://" in journal:
        return http_entries(journal, first_seq, until, shard=shard)
    return file_entries(Path(journal), first_seq)


def file_entries(path: Path, first_seq: int = 1) -> Iterator[PublishedEntry]:
    try:
        with open(path, "rb") as file:
            is_sqlite = file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError as error:
        raise JournalUnavailableError(f"{path}: {error}") from None
    return _sqlite_entries(path, first_seq) if is_sqlite else _file_entries(path, first_seq)


def _file_entries(path: Path, first_seq: int) -> Iterator[PublishedEntry]:
    with open(path, "rb") as file:
        for position, (where, entry, stored) in enumerate(frames(file), start=1):
            if position >= first_seq:
                yield PublishedEntry(entry, stored, f"byte {where}")


def _sqlite_entries(path: Path, first_seq: int) -> Iterator[PublishedEntry]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT rowid, entry, head FROM journal WHERE seq >= ? ORDER BY seq", (first_seq,)
        )
        for row, entry, stored in rows:
            yield PublishedEntry(bytes(entry), bytes(stored), f"row {row}")
    finally:
        db.close()


class _ServedEntry(msgspec.Struct):
    seq: int
    entry: str
    head: str


class _ServedHead(msgspec.Struct):
    seq: int


class _Page(msgspec.Struct):
    """``/journal``'s answer; its other fields (the decoded command) are not trusted."""

    head: _ServedHead
    entries: list[_ServedEntry]


def journal_url(url: str) -> str:
    """The ``/journal`` endpoint of ``url``: the node's HTTP API (its base, or the endpoint
    itself), or the gateway's WebSocket URL, which names the API (asked once)."""
    if url.rstrip("/").endswith("/journal"):
        return url.rstrip("/")
    base = discover_http_url(url) if url.startswith(("ws://", "wss://")) else url.rstrip("/")
    return f"{base}/journal"


def http_entries(
    url: str,
    first_seq: int = 1,
    until: int = 0,
    *,
    page: int = PAGE,
    get: Callable[[str], bytes] | None = None,
    shard: int | None = None,
) -> Iterator[PublishedEntry]:
    """The journal served at ``url`` from ``first_seq`` up to its head at the first page (or
    to ``until``, while the gateway has entries); with ``shard``, that engine shard's (asked
    as ``shard=K``; without it the server's default, the embedded node's shard 0)."""
    endpoint = journal_url(url)
    fetch = get or _get
    asked = "" if shard is None else f"&shard={shard}"
    next_seq, last = first_seq, None
    while last is None or next_seq <= last:
        request = f"{endpoint}?from={next_seq}&limit={page}{asked}"
        answer = _retried(partial(fetch, request), request, next_seq)
        try:
            served = msgspec.json.decode(answer, type=_Page)
        except msgspec.DecodeError as error:
            raise JournalUnavailableError(f"{request}: not a journal page: {error}") from None
        if last is None:
            last = max(served.head.seq, until)
        for item in served.entries:
            if item.seq > last:
                return
            yield PublishedEntry(_hex(item.entry), _hex(item.head), f"{endpoint} seq {item.seq}")
            next_seq = item.seq + 1
        if not served.entries:
            return


class _ErrorBody(msgspec.Struct):
    code: str
    message: str


def _retried(call: Callable[[], bytes], what: str, first_seq: int) -> bytes:
    wait = 0.5
    for attempt in range(1, RETRIES + 1):
        try:
            return call()
        except urllib.error.HTTPError as error:
            body = error.read()
            with suppress(msgspec.DecodeError):
                told = msgspec.json.decode(body, type=_ErrorBody)
                if told.code == _BROKEN:  # the entry a page from ``first_seq`` starts with
                    raise PublishedBreakError(first_seq, f"{what}: {told.message}") from None
            if error.code < 500:  # asked wrongly, or no journal there: asking again won't help
                raise JournalUnavailableError(f"{what}: {error.code} {body!r}") from None
            failure: Exception = error
        except OSError as error:
            failure = error
        if attempt == RETRIES:
            raise JournalUnavailableError(f"{what}: {failure}")
        log.warning("journal page failed (%s), asking again in %.1f s", failure, wait)
        time.sleep(wait)
        wait *= 2
    raise AssertionError("unreachable")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
        body: bytes = response.read()
    return body


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))
