"""The local book follows snapshot + updates and reports a gap instead of showing a wrong book."""

from __future__ import annotations

from decimal import Decimal

from perpdex.core.types import MarketId, Price, Size
from perpdex.core.units import from_price_units, from_size_units
from perpdex.gateway.protocol import BookSnapshot, BookUpdate
from perpdex.sdk.book import LocalBook
from perpdex.sdk.values import Level

M = MarketId(0)


def test_updates_after_the_snapshot_are_merged_best_first() -> None:
    book = LocalBook(M)
    book.reset(BookSnapshot(market=0, seq=5, bids=[(99, 1), (98, 2)], asks=[(101, 3)]))
    assert book.apply(BookUpdate(market=0, seq=5, bids=[(99, 7)], asks=[]))  # already in it
    assert book.apply(BookUpdate(market=0, seq=6, bids=[(99, 0), (100, 4)], asks=[(102, 1)]))
    view = book.view()
    assert view.seq == 6
    assert view.bids == (_level(100, 4), _level(98, 2))
    assert view.asks == (_level(101, 3), _level(102, 1))
    assert (view.best_bid, view.best_ask) == (_level(100, 4), _level(101, 3))


def test_the_view_shows_decimals_not_units() -> None:
    """``best_bid`` is (99900 USD, 0.01 BTC), not the wire's (99900000000, 1000000)."""
    book = LocalBook(M)
    book.reset(BookSnapshot(market=0, seq=1, bids=[(99_900_000_000, 1_000_000)], asks=[]))
    best = book.view().best_bid
    assert best == (Decimal("99900"), Decimal("0.01"))
    assert best is not None and (best.price, best.size) == best


def _level(price: int, size: int) -> Level:
    return Level(from_price_units(Price(price)), from_size_units(Size(size)))


def test_a_skipped_seq_is_a_gap() -> None:
    book = LocalBook(M)
    book.reset(BookSnapshot(market=0, seq=5, bids=[], asks=[]))
    assert not book.apply(BookUpdate(market=0, seq=7, bids=[(1, 1)], asks=[]))
    assert book.view().bids == ()  # nothing applied


def test_updates_before_a_snapshot_wait_for_it() -> None:
    book = LocalBook(M)
    book.reset(BookSnapshot(market=0, seq=1, bids=[], asks=[]))
    book.invalidate()
    assert book.apply(BookUpdate(market=0, seq=9, bids=[(1, 1)], asks=[]))
    assert book.seq is None
