"""The journal in an SQLite table: one row per entry; ``flush`` commits the group."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from perpdex.engine.hashchain import HashChain
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, JournalEntry, verified

MAGIC: Final = b"SQLite format 3\x00"


class SqliteJournal:
    """With ``fsync`` a commit survives power loss (``synchronous=FULL``)."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'OFF'}")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS journal"
            " (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, head BLOB NOT NULL)"
        )
        self._db.commit()
        row = self._db.execute("SELECT seq, head FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        self._head = GENESIS_HEAD if row is None else ChainHead(row[0], row[1])
        self._chain = HashChain(self._head.head)

    @property
    def head(self) -> ChainHead:
        return self._head

    def append(self, entries: Sequence[bytes]) -> list[bytes]:
        if not entries:
            return []
        heads = self._chain.extend(entries)
        first = self._head.seq + 1
        self._db.executemany(
            "INSERT INTO journal (seq, entry, head) VALUES (?, ?, ?)",
            zip(range(first, first + len(entries)), entries, heads, strict=True),
        )
        self._head = ChainHead(first + len(entries) - 1, heads[-1])
        return heads

    def flush(self) -> None:
        self._db.commit()

    def read(self, after: ChainHead = GENESIS_HEAD) -> Iterator[JournalEntry]:
        return read_sqlite(self.path, after)

    def close(self) -> None:
        self.flush()
        self._db.close()


def read_sqlite(path: Path, after: ChainHead = GENESIS_HEAD) -> Iterator[JournalEntry]:
    """The committed entries of an SQLite journal after ``after``, opened read-only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT seq, entry, head FROM journal WHERE seq >= ? ORDER BY seq", (after.seq,)
        )
        yield from verified(rows, after)
    finally:
        db.close()
