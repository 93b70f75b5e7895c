"""One side of an order book: price levels in time priority and the best price.

A side keys its levels by ``key = -side * price`` (bids negated, asks as is) so that both
sides keep their best price at the top of a min-heap of keys. A level is an insertion-ordered
dict of its orders (time priority, O(1) removal of a cancelled order).

Removal of levels is lazy: a level whose size drops to zero stays in ``levels`` (and its key
in ``heap``) until it reaches the top of the heap, so every key in ``heap`` has exactly one
level in ``levels`` and a re-used price costs no heap push. Readers see non-empty levels only.
"""

from __future__ import annotations

from collections.abc import Iterator
from heapq import heapify, heappop, heappush

from perpdex.core.types import OrderId, Side
from perpdex.engine.commands import NewOrder

# A side drops its empty levels once it holds this many levels, and twice as many as it
# kept at the last pruning: amortised O(1) per new level.
_PRUNE_MIN_LEVELS = 256


class Order:
    """A resting order: its (current) terms and what is left of it.

    ``command`` is replaced when an amend keeps priority, so it always states the live terms.
    """

    __slots__ = ("command", "key", "remaining")

    def __init__(self, command: NewOrder, key: int, remaining: int) -> None:
        self.command = command
        self.key = key
        self.remaining = remaining


class Level:
    """Orders at one price, oldest first; ``total`` is the sum of their remaining sizes."""

    __slots__ = ("orders", "price", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.total = 0
        self.orders: dict[OrderId, Order] = {}


class BookSide:
    """The levels of one side of a book."""

    __slots__ = ("heap", "levels", "prune_at", "side")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.levels: dict[int, Level] = {}
        self.heap: list[int] = []
        self.prune_at = _PRUNE_MIN_LEVELS

    def level_for(self, key: int) -> Level:
        """The level at ``key``, created if needed."""
        level = self.levels.get(key)
        if level is None:
            if len(self.levels) >= self.prune_at:
                self._prune()
            level = self.levels[key] = Level(-key if self.side is Side.BUY else key)
            heappush(self.heap, key)
        return level

    def best(self) -> Level | None:
        """The best non-empty level; empty levels met on the way are dropped."""
        heap = self.heap
        levels = self.levels
        while heap:
            level = levels[heap[0]]
            if level.total:
                return level
            del levels[heappop(heap)]
        return None

    def best_price(self) -> int | None:
        level = self.best()
        return None if level is None else level.price

    def keys_within(self, limit_key: int) -> Iterator[int]:
        """Keys of non-empty levels at ``limit_key`` or better, in no particular order.

        Walks only the part of the heap above ``limit_key`` (a subtree holding the root).
        """
        heap = self.heap
        levels = self.levels
        stack = [0] if heap else []
        while stack:
            i = stack.pop()
            key = heap[i]
            if key > limit_key:
                continue
            if levels[key].total:
                yield key
            child = 2 * i + 1
            if child < len(heap):
                stack.append(child)
                if child + 1 < len(heap):
                    stack.append(child + 1)

    def depth(self) -> list[Level]:
        """Non-empty levels, best first."""
        return [self.levels[key] for key in sorted(self.levels) if self.levels[key].total]

    def _prune(self) -> None:
        # In place: the matcher may hold references to ``levels`` and ``heap``.
        levels = self.levels
        for key in [key for key, level in levels.items() if not level.total]:
            del levels[key]
        self.heap[:] = levels
        heapify(self.heap)
        self.prune_at = max(_PRUNE_MIN_LEVELS, 2 * len(levels))
