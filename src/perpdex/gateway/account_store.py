"""The account history on disk (SQLite): every account's events and orders, for resumes and
the HTTP history pages, so none of it has to stay in memory.

The store is an index of the journal, not a second source of truth: ``covered`` is the
journal seq through which it holds everything, and :class:`~perpdex.gateway.account_log.
AccountLog` writes the events of later journal entries as a replay (or the live engine)
produces them. Deleting the file loses nothing: the next start rebuilds it from the
journal, with the same numbers. So it needs no fsync of its own (WAL, ``synchronous=
NORMAL``: a power cut may lose the last commits, never consistency), and it is written
only with durable commands, so it is never ahead of the journal.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable

from perpdex.core.types import Address

MEMORY = ":memory:"

FORMAT = 2
"""The rows' format: 2 added each order's ``filledValue`` and ``reason``. A store of another
format is emptied when opened, so the node rebuilds it from the journal (nothing lost)."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (account TEXT NOT NULL, account_seq INTEGER NOT NULL,"
    " kind TEXT NOT NULL, frame BLOB NOT NULL, PRIMARY KEY (account, account_seq))"
    " WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS orders (account TEXT NOT NULL, order_id INTEGER NOT NULL,"
    " open INTEGER NOT NULL, entry BLOB NOT NULL, PRIMARY KEY (account, order_id))"
    " WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS open_orders ON orders (open) WHERE open",
)

StoredEvent = tuple[Address, int, str, bytes]
"""(account, account seq, frame type, encoded frame)"""
StoredOrder = tuple[Address, int, bool, bytes]
"""(account, order id, still open, encoded ``HistoricalOrder``)"""


class AccountStoreError(Exception):
    """The store cannot belong to this journal (it covers entries the journal lacks)."""


class AccountStore:
    def __init__(self, path: str | os.PathLike[str] = MEMORY) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None or row[0] != FORMAT:
            with self._db:
                for table in ("events", "orders", "accounts", "meta"):
                    self._db.execute("DELETE FROM " + table)
                self._db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
        self._db.commit()

    @property
    def covered(self) -> int:
        """The journal seq through which every account event and order is stored."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'covered'").fetchone()
        return 0 if row is None else int(row[0])

    def last_seqs(self) -> dict[Address, int]:
        rows = self._db.execute("SELECT account, last_seq FROM accounts")
        return {Address(account): seq for account, seq in rows}

    def open_orders(self) -> list[tuple[Address, bytes]]:
        rows = self._db.execute("SELECT account, entry FROM orders WHERE open ORDER BY order_id")
        return [(Address(account), entry) for account, entry in rows]

    def write(
        self,
        events: Iterable[StoredEvent],
        orders: Iterable[StoredOrder],
        last_seqs: Iterable[tuple[Address, int]],
        covered: int,
    ) -> None:
        """One transaction: the events and order states of journal entries up to
        ``covered``. An event numbered twice is an error (IntegrityError): the numbering
        must follow from the journal alone."""
        db = self._db
        with db:
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", events)
            db.executemany("INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)", orders)
            db.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?)", last_seqs)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('covered', ?)", (covered,))

    def events(
        self, account: Address, after: int, limit: int, kind: str | None = None
    ) -> list[tuple[int, bytes]]:
        """(account seq, frame) of the account's events numbered above ``after`` (of one
        ``kind`` only: a scan of the account's events from ``after``; an index by kind
        would double the cost of every insert, which the matching loop pays)."""
        if kind is None:
            rows = self._db.execute(
                "SELECT account_seq, frame FROM events WHERE account = ? AND account_seq > ?"
                " ORDER BY account_seq LIMIT ?",
                (account, after, limit),
            )
        else:
            rows = self._db.execute(
                "SELECT account_seq, frame FROM events WHERE account = ? AND kind = ?"
                " AND account_seq > ? ORDER BY account_seq LIMIT ?",
                (account, kind, after, limit),
            )
        return rows.fetchall()

    def orders(self, account: Address, after: int, limit: int) -> list[tuple[int, bytes]]:
        """(order id, encoded order) of the account's orders with ids above ``after``."""
        rows = self._db.execute(
            "SELECT order_id, entry FROM orders WHERE account = ? AND order_id > ?"
            " ORDER BY order_id LIMIT ?",
            (account, after, limit),
        )
        return rows.fetchall()

    def order_by_hash(self, account: Address, order_hash: str) -> bytes | None:
        """The stored order of the account named ``order_hash`` (a scan of its orders)."""
        row = self._db.execute(
            "SELECT entry FROM orders WHERE account = ? AND json_extract(entry, '$.orderHash') = ?",
            (account, order_hash),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def order_by_client_id(self, account: Address, client_id: str) -> bytes | None:
        """The account's newest stored order with ``client_id`` (a scan of its orders)."""
        row = self._db.execute(
            "SELECT entry FROM orders WHERE account = ? AND json_extract(entry, '$.clientId') = ?"
            " ORDER BY order_id DESC LIMIT 1",
            (account, client_id),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def close(self) -> None:
        self._db.close()
