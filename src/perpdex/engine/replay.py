"""Rebuild an engine from its journal, from genesis or from a snapshot."""

from __future__ import annotations

import os
from collections.abc import Iterable

from perpdex.engine.codec import DecodeError, decode
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
        last = apply_entry(engine, item)
    return last


def apply_entry(engine: Engine, item: JournalEntry) -> ChainHead:
    """Apply one checked journal entry to ``engine`` (a replay's step, a follower's)."""
    try:
        seq, time, command = decode(item.entry)
    except DecodeError as error:
        raise BadEntry(item.seq, item.where, f"cannot decode: {error}") from error
    engine.apply(seq, time, command)
    return ChainHead(item.seq, item.head)


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
