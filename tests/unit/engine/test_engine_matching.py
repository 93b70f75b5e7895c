"""Order types, price-time priority and fill prices."""

from __future__ import annotations

from tests.unit.engine.engine_testing import ALICE, BOB, CAROL, Harness, kinds

from perpdex.core.types import MarketId, OrderId, Price, Side, Size
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine import CancelReason, RejectReason, market_order
from perpdex.engine.events import Accepted, Cancelled, Filled, Rejected


def fills(events: list[object]) -> list[tuple[int, int, int, int]]:
    return [
        (e.taker_order_id, e.maker_order_id, e.price, e.size)
        for e in events
        if isinstance(e, Filled)
    ]


def test_gtc_rests_when_it_does_not_cross(harness: Harness) -> None:
    assert kinds(harness.buy(100, 5)) == ["Accepted", "BookDelta"]
    assert kinds(harness.sell(101, 7, account=BOB)) == ["Accepted", "BookDelta"]
    assert harness.book() == ([(100, [(1, 5)])], [(101, [(2, 7)])])


def test_taker_fills_at_the_maker_price_best_price_first(harness: Harness) -> None:
    harness.sell(103, 2, account=BOB)  # 1
    harness.sell(101, 2, account=BOB)  # 2
    harness.sell(102, 2, account=BOB)  # 3
    events = harness.buy(105, 5)  # 4
    assert fills(events) == [(4, 2, 101, 2), (4, 3, 102, 2), (4, 1, 103, 1)]
    assert harness.book() == ([], [(103, [(1, 1)])])


def test_time_priority_within_a_level(harness: Harness) -> None:
    harness.buy(100, 3, account=BOB)  # 1
    harness.buy(100, 3, account=CAROL)  # 2
    harness.buy(100, 3, account=BOB)  # 3
    events = harness.sell(100, 4)  # 4
    assert fills(events) == [(4, 1, 100, 3), (4, 2, 100, 1)]
    assert harness.book() == ([(100, [(2, 2), (3, 3)])], [])


def test_gtc_remainder_rests_at_its_limit(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB)
    harness.buy(102, 5)
    assert harness.book() == ([(102, [(2, 3)])], [])


def test_ioc_fills_what_it_can_and_cancels_the_rest(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB)
    events = harness.buy(101, 5, tif=Tif.IOC)
    assert kinds(events) == ["Accepted", "Filled", "BookDelta", "Cancelled"]
    cancelled = events[-1]
    assert isinstance(cancelled, Cancelled)
    assert (cancelled.order_id, cancelled.size, cancelled.reason) == (
        2,
        3,
        CancelReason.UNFILLED_IOC,
    )
    assert harness.book() == ([], [])


def test_fok_fills_in_full_across_levels(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB)
    harness.sell(102, 3, account=BOB)
    assert fills(harness.buy(102, 5, tif=Tif.FOK)) == [(3, 1, 101, 2), (3, 2, 102, 3)]
    assert harness.book() == ([], [])


def test_fok_that_cannot_fill_in_full_changes_nothing(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB)
    harness.sell(103, 3, account=BOB)  # beyond the limit
    events = harness.buy(102, 3, tif=Tif.FOK)
    assert kinds(events) == ["Rejected"]
    assert isinstance(events[0], Rejected)
    assert events[0].reason is RejectReason.FOK_NOT_FILLABLE
    assert harness.book() == ([], [(101, [(1, 2)]), (103, [(2, 3)])])


def test_post_only_rests_or_is_rejected_never_repriced(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB)
    assert kinds(harness.buy(100, 1, tif=Tif.POST_ONLY)) == ["Accepted", "BookDelta"]
    events = harness.buy(101, 1, tif=Tif.POST_ONLY)
    assert kinds(events) == ["Rejected"]
    assert isinstance(events[0], Rejected)
    assert events[0].reason is RejectReason.POST_ONLY_WOULD_CROSS
    assert harness.book() == ([(100, [(2, 1)])], [(101, [(1, 2)])])


def test_market_order_is_an_ioc_bounded_by_its_worst_price(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB)
    harness.sell(110, 2, account=BOB)
    order = market_order(
        market=MarketId(0),
        order_id=OrderId(3),
        account=ALICE,
        side=Side.BUY,
        worst_price=Price(105),
        size=Size(3),
    )
    events = harness.submit(order)
    assert fills(events) == [(3, 1, 101, 2)]
    assert kinds(events)[-1] == "Cancelled"
    assert harness.book() == ([], [(110, [(2, 2)])])


def test_sell_taker_walks_bids_down(harness: Harness) -> None:
    harness.buy(99, 1, account=BOB)
    harness.buy(100, 1, account=BOB)
    assert fills(harness.sell(98, 2)) == [(3, 2, 100, 1), (3, 1, 99, 1)]


def test_fill_events_carry_accounts_and_payloads(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB, payload=b"maker-signed")
    events = harness.buy(101, 2, payload=b"taker-signed")
    (fill,) = [e for e in events if isinstance(e, Filled)]
    assert (fill.taker_account, fill.maker_account, fill.taker_side) == (ALICE, BOB, Side.BUY)
    assert (fill.taker_payload, fill.maker_payload) == (b"taker-signed", b"maker-signed")


def test_accepted_event_states_the_terms(harness: Harness) -> None:
    (accepted, _) = harness.buy(100, 5, client_id="c-1")
    assert isinstance(accepted, Accepted)
    assert accepted.order.client_id == "c-1"
    assert accepted.order.size == 5


def test_an_emptied_level_does_not_count_as_the_best_price(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB)
    harness.sell(102, 2, account=BOB)
    harness.buy(101, 2)  # empties 101
    assert harness.engine.markets[MarketId(0)].best_ask() == 102
    # a post-only buy at 101 no longer crosses
    assert kinds(harness.buy(101, 1, tif=Tif.POST_ONLY)) == ["Accepted", "BookDelta"]


def test_events_carry_the_command_sequence_number(harness: Harness) -> None:
    harness.sell(101, 2, account=BOB)
    events = harness.buy(101, 2)
    assert {event.seq for event in events} == {2}
