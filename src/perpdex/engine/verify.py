"""Open or check a journal store, whichever kind it is."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from perpdex.engine.errors import TornEntry
from perpdex.engine.file_journal import FileJournal, read_file
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, Journal, JournalEntry
from perpdex.engine.sqlite_journal import MAGIC as SQLITE_MAGIC
from perpdex.engine.sqlite_journal import SqliteJournal, read_sqlite

SQLITE_SUFFIXES = (".sqlite", ".db")


def open_journal(path: str | os.PathLike[str], *, fsync: bool = False) -> Journal:
    """An SQLite journal if ``path`` ends in .sqlite or .db, else a file journal."""
    if Path(path).suffix in SQLITE_SUFFIXES:
        return SqliteJournal(path, fsync=fsync)
    return FileJournal(path, fsync=fsync)


def verify_journal(path: str | os.PathLike[str], *, allow_torn_tail: bool = False) -> ChainHead:
    """Check a journal from genesis; returns its final ``(seq, head)``.

    Raises a :class:`~perpdex.engine.errors.JournalError` naming the first bad entry. A
    last entry cut short by a crash (:class:`TornEntry`) is accepted with
    ``allow_torn_tail``; the result is then the last complete entry.
    """
    with open(path, "rb") as file:
        is_sqlite = file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    read = read_sqlite if is_sqlite else read_file
    return _last_checked(read(Path(path)), allow_torn_tail=allow_torn_tail)


def verify_store(journal: Journal) -> ChainHead:
    """Check an open journal of any kind from genesis (a JetStream one, say); its last head."""
    return _last_checked(journal.read())


def _last_checked(entries: Iterable[JournalEntry], *, allow_torn_tail: bool = False) -> ChainHead:
    last = GENESIS_HEAD
    try:
        for entry in entries:
            last = ChainHead(entry.seq, entry.head)
    except TornEntry:
        if not allow_torn_tail:
            raise
    return last
