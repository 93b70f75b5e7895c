"""Self-trade prevention (per order, or off) and the reduce-only rule."""

from __future__ import annotations

import pytest
from tests.unit.engine.engine_testing import ALICE, BOB, COARSE, Harness, M

from perpdex.core.types import Address, MarketId, OrderId, Price, Size
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine import Amend, CancelReason, RejectReason, StpMode
from perpdex.engine.events import Accepted, Cancelled, Filled, Rejected


def cancels(events: list[object]) -> list[tuple[int, int, CancelReason]]:
    return [(e.order_id, e.size, e.reason) for e in events if isinstance(e, Cancelled)]


def fills(events: list[object]) -> list[tuple[int, int, int]]:
    return [(e.maker_order_id, e.price, e.size) for e in events if isinstance(e, Filled)]


@pytest.fixture
def crowded(harness: Harness) -> Harness:
    """Asks: 101 BOB 2 (1), 101 ALICE 2 (2), 102 BOB 2 (3)."""
    harness.sell(101, 2, account=BOB)
    harness.sell(101, 2)
    harness.sell(102, 2, account=BOB)
    return harness


def test_cancel_resting_removes_own_orders_and_trades_on(crowded: Harness) -> None:
    events = crowded.buy(102, 5, stp=StpMode.CANCEL_RESTING)
    assert fills(events) == [(1, 101, 2), (3, 102, 2)]
    assert cancels(events) == [(2, 2, CancelReason.SELF_TRADE)]
    assert crowded.book() == ([(102, [(4, 1)])], [])


def test_cancel_taker_stops_at_the_own_order(crowded: Harness) -> None:
    events = crowded.buy(102, 5, stp=StpMode.CANCEL_TAKER)
    assert fills(events) == [(1, 101, 2)]
    assert cancels(events) == [(4, 3, CancelReason.SELF_TRADE)]
    assert crowded.book() == ([], [(101, [(2, 2)]), (102, [(3, 2)])])


def test_cancel_both(crowded: Harness) -> None:
    events = crowded.buy(102, 5, stp=StpMode.CANCEL_BOTH)
    assert fills(events) == [(1, 101, 2)]
    assert cancels(events) == [(2, 2, CancelReason.SELF_TRADE), (4, 3, CancelReason.SELF_TRADE)]
    assert crowded.book() == ([], [(102, [(3, 2)])])


@pytest.mark.parametrize(
    ("stp", "fillable"),
    [(StpMode.CANCEL_RESTING, True), (StpMode.CANCEL_TAKER, False), (StpMode.CANCEL_BOTH, False)],
)
def test_fok_counts_only_liquidity_it_could_take(
    crowded: Harness, stp: StpMode, fillable: bool
) -> None:
    events = crowded.buy(102, 4, tif=Tif.FOK, stp=stp)
    if fillable:
        assert fills(events) == [(1, 101, 2), (3, 102, 2)]
    else:
        assert [type(e) for e in events] == [Rejected]
    # 5 would need the own order's size: never fillable
    assert [type(e) for e in crowded.buy(102, 5, tif=Tif.FOK, stp=stp)] == [Rejected]


def test_prevention_off_lets_an_account_trade_with_itself() -> None:
    harness = Harness(self_trade_prevention=False)
    harness.sell(101, 2)
    assert fills(harness.buy(101, 2, stp=StpMode.CANCEL_BOTH)) == [(1, 101, 2)]


def positions(table: dict[tuple[Address, MarketId], int]) -> Harness:
    return Harness(positions=lambda account, market: table.get((account, market), 0))


def accepted_size(events: list[object]) -> int | None:
    for event in events:
        if isinstance(event, Accepted):
            return event.order.size
        if isinstance(event, Rejected):
            assert event.reason is RejectReason.REDUCE_ONLY_WOULD_INCREASE
            return None
    raise AssertionError("neither accepted nor rejected")


def test_reduce_only_needs_a_position_to_reduce() -> None:
    harness = positions({(ALICE, M): 5})
    assert accepted_size(harness.buy(100, 1, reduce_only=True)) is None  # same direction
    assert accepted_size(harness.sell(100, 1, reduce_only=True, account=BOB)) is None  # flat
    assert accepted_size(harness.sell(100, 3, reduce_only=True)) == 3


def test_reduce_only_is_clipped_to_the_position() -> None:
    harness = positions({(ALICE, M): -4})
    assert accepted_size(harness.buy(100, 10, reduce_only=True)) == 4


def test_resting_reduce_only_orders_share_the_position() -> None:
    harness = positions({(ALICE, M): 5, (ALICE, COARSE): 25})
    assert accepted_size(harness.sell(110, 3, reduce_only=True)) == 3
    assert accepted_size(harness.sell(111, 3, reduce_only=True)) == 2
    assert accepted_size(harness.sell(112, 1, reduce_only=True)) is None
    # in a market with lot 10, the room (25) is rounded down to a lot
    assert accepted_size(harness.sell(110, 30, reduce_only=True, market=COARSE)) == 20


def test_reduce_only_room_comes_back_when_its_orders_fill() -> None:
    harness = positions({(ALICE, M): 5})
    harness.sell(110, 5, reduce_only=True)  # 1
    harness.buy(110, 2, account=BOB)  # fills 2 of it: 3 still reserved
    assert accepted_size(harness.sell(111, 5, reduce_only=True)) == 2


def test_the_stamped_position_is_journaled_with_the_order() -> None:
    harness = positions({(ALICE, M): 5})
    (accepted, *_) = harness.sell(110, 9, reduce_only=True)
    assert isinstance(accepted, Accepted)
    assert (accepted.order.position, accepted.order.size) == (5, 5)


def test_reduce_only_cannot_be_amended_up() -> None:
    harness = positions({(ALICE, M): 5})
    harness.sell(110, 3, reduce_only=True)
    (event,) = harness.submit(Amend(market=M, order_id=OrderId(1), price=Price(110), size=Size(4)))
    assert isinstance(event, Rejected)
    assert event.reason is RejectReason.REDUCE_ONLY_WOULD_INCREASE
