"""Clocks: integer Unix milliseconds, the unit of order expiries and dead-man deadlines.

Time enters the engine in one place: the sequencer reads its clock once per command and
stamps the command with it (and the journal records the stamp). Inside the engine, "now"
is the stamp of the command being applied, so replay sees exactly the same times.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int: ...


class WallClock:
    def now(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that shows whatever it was last set to."""

    __slots__ = ("time",)

    def __init__(self, time: int = 0) -> None:
        self.time = time

    def now(self) -> int:
        return self.time
