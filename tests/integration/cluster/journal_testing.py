"""Journal entries for the cluster tests: ``Tick`` commands, numbered from a head on."""

from __future__ import annotations

from perpdex.engine.codec import encode
from perpdex.engine.commands import Tick
from perpdex.engine.journal import ChainHead, Journal


def ticks(after: ChainHead, count: int, time: int = 1_000) -> list[bytes]:
    """``count`` entries following ``after``; ``time`` tells one writer's from another's."""
    return [encode(after.seq + 1 + i, time, Tick()) for i in range(count)]


def write(journal: Journal, count: int, time: int = 1_000) -> None:
    journal.append(ticks(journal.head, count, time))
    journal.flush()
