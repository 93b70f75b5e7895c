"""The local book follows snapshot + updates and reports a gap instead of showing a wrong book."""

from __future__ import annotations

from perpdex.core.types import MarketId
from perpdex.gateway.protocol import BookSnapshot, BookUpdate
from perpdex.sdk.book import LocalBook

M = MarketId(0)


def test_updates_after_the_snapshot_are_merged_best_first() -> None:
    book = LocalBook(M)
    book.reset(BookSnapshot(market=0, seq=5, bids=[(99, 1), (98, 2)], asks=[(101, 3)]))
    assert book.apply(BookUpdate(market=0, seq=5, bids=[(99, 7)], asks=[]))  # already in it
    assert book.apply(BookUpdate(market=0, seq=6, bids=[(99, 0), (100, 4)], asks=[(102, 1)]))
    view = book.view()
    assert view.seq == 6
    assert view.bids == ((100, 4), (98, 2))
    assert view.asks == ((101, 3), (102, 1))
    assert (view.best_bid, view.best_ask) == ((100, 4), (101, 3))


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
