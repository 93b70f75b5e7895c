"""Due times of order expiries and dead-man switches.

One heap holds both, so they fire in time order. Entries are never removed early: when
an entry comes due, its owner checks that it still applies (the order still rests with that
expiry, the switch still has that deadline). Entries are totally ordered tuples, so the
firing order does not depend on how the heap was built (replay from a snapshot rebuilds it).
"""

from __future__ import annotations

from collections.abc import Iterator
from heapq import heappop, heappush

from perpdex.core.types import Address, MarketId, OrderId

DEAD_MAN = 0  # fires before an expiry due at the same time
EXPIRY = 1

# (due time, kind, market, order id, account)
Timer = tuple[int, int, int, int, str]


class Timers:
    __slots__ = ("heap",)

    def __init__(self) -> None:
        self.heap: list[Timer] = []

    def add_expiry(self, due: int, market: MarketId, order_id: OrderId) -> None:
        heappush(self.heap, (due, EXPIRY, market, order_id, ""))

    def add_dead_man(self, due: int, account: Address) -> None:
        heappush(self.heap, (due, DEAD_MAN, 0, 0, account))

    def next_due(self) -> int | None:
        return self.heap[0][0] if self.heap else None

    def pop_due(self, now: int) -> Iterator[Timer]:
        heap = self.heap
        while heap and heap[0][0] <= now:
            yield heappop(heap)
