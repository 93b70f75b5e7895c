"""Cancels (by id, client id, per account and market, per account) and amends."""

from __future__ import annotations

from tests.unit.engine.engine_testing import ALICE, BOB, COARSE, Harness, M, kinds

from perpdex.core.types import ClientOrderId, OrderId, Price, Side, Size
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    CancelReason,
    RejectReason,
)
from perpdex.engine.events import Amended, BookDelta, Cancelled, Filled, Rejected


def amend(order_id: int, price: int, size: int, market: int = M, payload: bytes = b"") -> Amend:
    return Amend(
        market=M if market == M else COARSE,
        order_id=OrderId(order_id),
        price=Price(price),
        size=Size(size),
        payload=payload,
    )


def test_cancel_by_id(harness: Harness) -> None:
    harness.buy(100, 5)
    harness.buy(100, 3)
    events = harness.submit(Cancel(M, OrderId(1)))
    assert events == [
        Cancelled(3, M, OrderId(1), ALICE, 5, CancelReason.REQUESTED),
        BookDelta(3, M, Side.BUY, 100, 3),
    ]
    assert harness.book() == ([(100, [(2, 3)])], [])


def test_cancel_of_a_filled_or_cancelled_order_is_rejected(harness: Harness) -> None:
    harness.buy(100, 5)
    harness.sell(100, 5, account=BOB)
    harness.buy(99, 1)
    harness.submit(Cancel(M, OrderId(3)))
    for order_id in (1, 2, 3):
        (event,) = harness.submit(Cancel(M, OrderId(order_id)))
        assert isinstance(event, Rejected)
        assert event.reason is RejectReason.UNKNOWN_ORDER


def test_cancel_by_client_id(harness: Harness) -> None:
    harness.buy(100, 5, client_id="x")
    (event, _) = harness.submit(CancelByClientId(M, ALICE, ClientOrderId("x")))
    assert isinstance(event, Cancelled)
    assert event.order_id == 1
    assert harness.book() == ([], [])


def test_cancel_all_is_per_account_and_market_oldest_first(harness: Harness) -> None:
    harness.buy(100, 1)  # 1
    harness.sell(110, 1)  # 2
    harness.buy(101, 1, account=BOB)  # 3
    harness.buy(99, 1)  # 4
    harness.buy(95, 10, market=COARSE)  # 5
    events = harness.submit(CancelAll(M, ALICE))
    assert [e.order_id for e in events if isinstance(e, Cancelled)] == [1, 2, 4]
    assert harness.book() == ([(101, [(3, 1)])], [])
    assert harness.book(COARSE) == ([(95, [(5, 10)])], [])


def test_cancel_account_covers_every_market(harness: Harness) -> None:
    harness.buy(100, 1)
    harness.buy(95, 10, market=COARSE)
    harness.buy(101, 1, account=BOB)
    events = harness.submit(CancelAccount(ALICE))
    assert [(e.market, e.order_id) for e in events if isinstance(e, Cancelled)] == [
        (M, 1),
        (COARSE, 2),
    ]
    assert harness.book(COARSE) == ([], [])
    assert harness.book() == ([(101, [(3, 1)])], [])


def test_cancel_all_after_many_fills_finds_only_resting_orders(harness: Harness) -> None:
    # enough orders to make the account index drop departed ones
    for _ in range(40):
        harness.buy(100, 1)
        harness.sell(100, 1, account=BOB)
    harness.buy(99, 2)
    events = harness.submit(CancelAll(M, ALICE))
    assert [(e.order_id, e.size) for e in events if isinstance(e, Cancelled)] == [(81, 2)]


def test_amend_size_down_keeps_priority(harness: Harness) -> None:
    harness.buy(100, 5)  # 1
    harness.buy(100, 5, account=BOB)  # 2
    events = harness.submit(amend(1, 100, 2))
    assert isinstance(events[0], Amended)
    assert (events[0].size, events[0].remaining, events[0].kept_priority) == (2, 2, True)
    assert harness.book() == ([(100, [(1, 2), (2, 5)])], [])


def test_amend_counts_what_already_filled(harness: Harness) -> None:
    harness.buy(100, 5)  # 1
    harness.sell(100, 2, account=BOB)  # fills 2 of it
    (event, _) = harness.submit(amend(1, 100, 4))
    assert isinstance(event, Amended)
    assert (event.size, event.remaining) == (4, 2)
    assert harness.book() == ([(100, [(1, 2)])], [])


def test_amend_to_at_most_the_filled_size_cancels_the_rest(harness: Harness) -> None:
    harness.buy(100, 5)
    harness.sell(100, 2, account=BOB)
    (event, _) = harness.submit(amend(1, 100, 2))
    assert event == Cancelled(3, M, OrderId(1), ALICE, 3, CancelReason.AMENDED)
    assert harness.book() == ([], [])


def test_amend_size_up_loses_priority(harness: Harness) -> None:
    harness.buy(100, 5)  # 1
    harness.buy(100, 5, account=BOB)  # 2
    events = harness.submit(amend(1, 100, 6))
    assert isinstance(events[0], Amended)
    assert events[0].kept_priority is False
    assert harness.book() == ([(100, [(2, 5), (1, 6)])], [])


def test_amend_price_replaces_and_may_trade(harness: Harness) -> None:
    harness.buy(100, 5, payload=b"old")  # 1
    harness.sell(102, 3, account=BOB)  # 2
    events = harness.submit(amend(1, 102, 5, payload=b"new"))
    assert kinds(events) == ["Amended", "BookDelta", "Filled", "BookDelta", "BookDelta"]
    fill = events[2]
    assert isinstance(fill, Filled)
    assert (fill.taker_order_id, fill.maker_order_id, fill.price, fill.size) == (1, 2, 102, 3)
    assert fill.taker_payload == b"new"
    assert harness.book() == ([(102, [(1, 2)])], [])


def test_amend_of_a_post_only_that_would_cross_is_rejected(harness: Harness) -> None:
    harness.buy(100, 5, tif=Tif.POST_ONLY)
    harness.sell(102, 3, account=BOB)
    (event,) = harness.submit(amend(1, 102, 5))
    assert isinstance(event, Rejected)
    assert event.reason is RejectReason.POST_ONLY_WOULD_CROSS
    assert harness.book() == ([(100, [(1, 5)])], [(102, [(2, 3)])])


def test_amend_keeps_the_client_order_id(harness: Harness) -> None:
    harness.buy(100, 5, client_id="x")
    harness.submit(amend(1, 101, 5))
    (event, _) = harness.submit(CancelByClientId(M, ALICE, ClientOrderId("x")))
    assert isinstance(event, Cancelled)
    assert event.order_id == 1
