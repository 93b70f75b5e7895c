"""Due times of order expiries and dead-man switches.

One heap holds both, so they fire in time order. Entries are not removed one by one: when
an entry comes due, its owner checks that it still applies (the order still rests with that
expiry, the switch still has that deadline). An order that fills or is cancelled would thus
leave its entry until its expiry (a day by default), so the heap would grow with the orders
of that whole day: once as many entries were pushed as the heap held after its last
compaction, the entries that no longer apply are dropped (amortised O(1) a push; the heap
stays under twice its live entries plus ``COMPACT_MIN``). Entries are totally ordered
tuples, so the firing order does not depend on how the heap was built (compaction, or a
replay from a snapshot, rebuilds it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import heapify, heappop, heappush

from perpdex.core.types import Address, MarketId, OrderId

DEAD_MAN = 0  # fires before an expiry due at the same time
EXPIRY = 1

COMPACT_MIN = 1024
"""Pushes between compactions at least: a small heap is not worth a pass."""

# (due time, kind, market, order id, account)
Timer = tuple[int, int, int, int, str]


class Timers:
    __slots__ = ("_pushes", "_threshold", "heap")

    def __init__(self) -> None:
        self.heap: list[Timer] = []
        self._pushes = 0
        self._threshold = COMPACT_MIN

    def add_expiry(self, due: int, market: MarketId, order_id: OrderId) -> None:
        heappush(self.heap, (due, EXPIRY, market, order_id, ""))
        self._pushes += 1

    def add_dead_man(self, due: int, account: Address) -> None:
        heappush(self.heap, (due, DEAD_MAN, 0, 0, account))
        self._pushes += 1

    def compact_due(self) -> bool:
        return self._pushes >= self._threshold

    def keep(self, applies: Callable[[Timer], bool]) -> None:
        """Drop every entry for which ``applies`` is false (in place)."""
        heap = self.heap
        heap[:] = [timer for timer in heap if applies(timer)]
        heapify(heap)
        self._pushes = 0
        self._threshold = max(COMPACT_MIN, len(heap))

    def next_due(self) -> int | None:
        return self.heap[0][0] if self.heap else None

    def pop_due(self, now: int) -> Iterator[Timer]:
        heap = self.heap
        while heap and heap[0][0] <= now:
            yield heappop(heap)
