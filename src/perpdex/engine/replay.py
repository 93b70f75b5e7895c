"""Rebuild an engine from its journal, from genesis or from a snapshot."""

from __future__ import annotations

import os
from collections.abc import Iterable

from perpdex.engine.codec import DecodeError, decode
from perpdex.engine.commands import Command
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.errors import BadEntry
from perpdex.engine.events import EventSink
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, Journal, JournalEntry
from perpdex.engine.snapshot import read_snapshot


def replay(engine: Engine, journal: Journal, after: ChainHead = GENESIS_HEAD) -> ChainHead:
    """Apply the journal's entries after ``after`` to ``engine``; returns the last head."""
    last = after
    for item in journal.read(after):
        engine.apply(*decode_entry(item))
        last = ChainHead(item.seq, item.head)
    return last


def decode_entry(item: JournalEntry) -> tuple[int, int, Command]:
    """(seq, time, command) of a checked journal entry; ``BadEntry`` if it does not decode."""
    try:
        return decode(item.entry)
    except DecodeError as error:
        raise BadEntry(item.seq, item.where, f"cannot decode: {error}") from error


def recover(
    journal: Journal,
    markets: Iterable[MarketConfig],
    sink: EventSink | None = None,
    *,
    snapshot: str | os.PathLike[str] | None = None,
    self_trade_prevention: bool = True,
) -> tuple[Engine, ChainHead]:
    """The engine as of the journal's last entry, and that entry's head.

    With ``snapshot`` the engine starts from it (its markets replace ``markets``) and only
    later entries are replayed; the journal must have passed through the snapshot's head.
    """
    if snapshot is None:
        engine = Engine(markets, sink, self_trade_prevention=self_trade_prevention)
        start = GENESIS_HEAD
    else:
        engine, start = read_snapshot(snapshot, sink, self_trade_prevention=self_trade_prevention)
    return engine, replay(engine, journal, start)
