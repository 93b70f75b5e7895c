"""A store written in an older row format is emptied when opened: the node rebuilds it from
the journal rather than serve orders without their fills' value and reason."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from perpdex.core.types import Address
from perpdex.gateway.account_store import FORMAT, AccountStore

TRADER = Address("0x" + "11" * 20)


def _written(path: Path) -> None:
    store = AccountStore(path)
    store.write([(TRADER, 1, "fill", b"{}")], [(TRADER, 1, True, b"{}")], [(TRADER, 1)], 5)
    store.close()


def test_a_store_of_this_format_keeps_its_rows(tmp_path: Path) -> None:
    _written(tmp_path / "a.sqlite")
    store = AccountStore(tmp_path / "a.sqlite")
    assert (store.covered, store.last_seqs()) == (5, {TRADER: 1})
    store.close()


def test_a_store_of_another_format_is_emptied_to_be_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    _written(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (FORMAT - 1,))
    db.close()
    store = AccountStore(path)
    assert (store.covered, store.last_seqs(), store.open_orders()) == (0, {}, [])
    assert store.events(TRADER, 0, 10) == []
    store.write([], [], [], 3)
    store.close()
    assert AccountStore(path).covered == 3  # marked as this format: kept from now on
