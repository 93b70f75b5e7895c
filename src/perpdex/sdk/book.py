"""A market's order book kept locally from the gateway's snapshot and ``book_update`` frames.

Each update's ``seq`` is one more than the one before (the snapshot's included). An update
that skips one means frames were lost: :meth:`LocalBook.apply` returns False and the
subscription asks for a fresh snapshot instead of showing a wrong book.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.types import MarketId
from perpdex.gateway import protocol as wire
from perpdex.gateway.protocol import BookSnapshot, BookUpdate
from perpdex.sdk.values import Level, price, size


@dataclass(frozen=True, slots=True)
class BookView:
    """The book at ``seq``; each side best price first, in decimals (USD, base asset)."""

    market: MarketId
    seq: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    @property
    def best_bid(self) -> Level | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        return self.asks[0] if self.asks else None


class LocalBook:
    def __init__(self, market: MarketId) -> None:
        self.market = market
        self.seq: int | None = None  # None until a snapshot arrives
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}

    def reset(self, snapshot: BookSnapshot) -> None:
        self.seq = snapshot.seq
        self._bids = dict(snapshot.bids)
        self._asks = dict(snapshot.asks)

    def invalidate(self) -> None:
        """Forget the book until the next snapshot (after a reconnect or a gap)."""
        self.seq = None

    def apply(self, update: BookUpdate) -> bool:
        """Apply an update; False if it does not follow the current state (a gap)."""
        if self.seq is None:
            return True  # waiting for a snapshot: updates before it are in it
        if update.seq <= self.seq:
            return True  # already in the snapshot
        if update.seq != self.seq + 1:
            return False
        _merge(self._bids, update.bids)
        _merge(self._asks, update.asks)
        self.seq = update.seq
        return True

    def view(self) -> BookView:
        if self.seq is None:
            raise RuntimeError("no snapshot yet")
        return BookView(
            self.market,
            self.seq,
            tuple(Level(price(p), size(s)) for p, s in sorted(self._bids.items(), reverse=True)),
            tuple(Level(price(p), size(s)) for p, s in sorted(self._asks.items())),
        )


def _merge(side: dict[int, int], levels: list[wire.Level]) -> None:
    for units, total in levels:
        if total:
            side[units] = total
        else:
            side.pop(units, None)
