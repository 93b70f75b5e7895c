"""The account history on disk (SQLite): every account's events and orders, for resumes and
the HTTP history pages, so none of it has to stay in memory.

Writes go to a thread of their own (sqlite releases the GIL while it works), so the
matching loop only hands each group commit's rows over; a read first waits for the writes
handed over before it (``_settled``), so it sees every committed event. At most
``MAX_QUEUED_WRITES`` groups wait; beyond that the loop waits for the writer (bounded
memory). The store is an index of the journal, not a second source of truth: ``covered`` is the
journal seq through which it holds everything, and :class:`~perpdex.gateway.account_log.
AccountLog` writes the events of later journal entries as a replay (or the live engine)
produces them. Deleting the file loses nothing: the next start rebuilds it from the
journal, with the same numbers. So it needs no fsync of its own (WAL, ``synchronous=
NORMAL``: a power cut may lose the last commits, never consistency), and it is written
only with durable commands, so it is never ahead of the journal.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Iterable
from typing import Any

from perpdex.core.types import Address

log = logging.getLogger(__name__)

MEMORY = ":memory:"
MAX_QUEUED_WRITES = 64

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
_Write = tuple[list[StoredEvent], list[StoredOrder], list[tuple[Address, int]], int]


class AccountStoreError(Exception):
    """The store cannot belong to this journal (it covers entries the journal lacks)."""


class AccountStore:
    def __init__(self, path: str | os.PathLike[str] = MEMORY) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)  # used under _lock
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.commit()
        self._writes: queue.Queue[_Write | None] = queue.Queue(MAX_QUEUED_WRITES)
        self._writer = threading.Thread(target=self._write_all, name="account store", daemon=True)
        self._writer.start()

    @property
    def covered(self) -> int:
        """The journal seq through which every account event and order is stored."""
        row = self._read("SELECT value FROM meta WHERE key = 'covered'", ())
        return 0 if not row else int(row[0][0])

    def last_seqs(self) -> dict[Address, int]:
        rows = self._read("SELECT account, last_seq FROM accounts", ())
        return {Address(account): seq for account, seq in rows}

    def open_orders(self) -> list[tuple[Address, bytes]]:
        rows = self._read("SELECT account, entry FROM orders WHERE open ORDER BY order_id", ())
        return [(Address(account), entry) for account, entry in rows]

    def write(
        self,
        events: Iterable[StoredEvent],
        orders: Iterable[StoredOrder],
        last_seqs: Iterable[tuple[Address, int]],
        covered: int,
    ) -> None:
        """Hand over one transaction: the events and order states of journal entries up
        to ``covered`` (written by the writer thread, in order)."""
        self._writes.put((list(events), list(orders), list(last_seqs), covered))

    def _write_all(self) -> None:
        while (write := self._writes.get()) is not None:
            events, orders, last_seqs, covered = write
            try:
                with self._lock, self._db as db:
                    db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", events)
                    db.executemany("INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)", orders)
                    db.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?)", last_seqs)
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('covered', ?)", (covered,))
            except sqlite3.Error:
                # an event numbered twice (IntegrityError) means the numbering did not follow
                # from the journal alone: a bug; the live streams go on, the store stops here
                log.exception("account store: the write up to journal seq %s failed", covered)
            finally:
                self._writes.task_done()
        self._writes.task_done()

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[Any]:
        """After every write handed over so far."""
        self._writes.join()
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def events(
        self, account: Address, after: int, limit: int, kind: str | None = None
    ) -> list[tuple[int, bytes]]:
        """(account seq, frame) of the account's events numbered above ``after`` (of one
        ``kind`` only: a scan of the account's events from ``after``; an index by kind
        would double the cost of every insert, which the matching loop pays)."""
        if kind is None:
            rows = self._read(
                "SELECT account_seq, frame FROM events WHERE account = ? AND account_seq > ?"
                " ORDER BY account_seq LIMIT ?",
                (account, after, limit),
            )
        else:
            rows = self._read(
                "SELECT account_seq, frame FROM events WHERE account = ? AND kind = ?"
                " AND account_seq > ? ORDER BY account_seq LIMIT ?",
                (account, kind, after, limit),
            )
        return [(int(seq), bytes(frame)) for seq, frame in rows]

    def orders(self, account: Address, after: int, limit: int) -> list[tuple[int, bytes]]:
        """(order id, encoded order) of the account's orders with ids above ``after``."""
        rows = self._read(
            "SELECT order_id, entry FROM orders WHERE account = ? AND order_id > ?"
            " ORDER BY order_id LIMIT ?",
            (account, after, limit),
        )
        return [(int(order_id), bytes(entry)) for order_id, entry in rows]

    def order_by_hash(self, account: Address, order_hash: str) -> bytes | None:
        """The stored order of the account named ``order_hash`` (a scan of its orders)."""
        rows = self._read(
            "SELECT entry FROM orders WHERE account = ? AND json_extract(entry, '$.orderHash') = ?",
            (account, order_hash),
        )
        return None if not rows else bytes(rows[0][0])

    def close(self) -> None:
        """After every write handed over."""
        self._writes.put(None)
        self._writer.join()
        self._db.close()
