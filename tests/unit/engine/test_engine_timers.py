"""Order expiry and the dead-man switch: the command clock decides."""

from __future__ import annotations

from tests.unit.engine.engine_testing import ALICE, BOB, COARSE, Harness, M, kinds

from perpdex.core.types import OrderId
from perpdex.engine import Cancel, CancelReason, SetDeadMan, Tick
from perpdex.engine.events import Cancelled, DeadManSet, Expired, Filled, Rejected
from perpdex.engine.timers import COMPACT_MIN

DAY_MS = 86_400_000


def test_expired_order_is_swept_by_a_tick(harness: Harness) -> None:
    harness.buy(100, 5, expiry=2_000)
    harness.clock.time = 1_999
    assert harness.submit(Tick()) == []
    harness.clock.time = 2_000
    events = harness.submit(Tick())
    assert events[0] == Expired(3, M, OrderId(1), ALICE, 5)
    assert harness.book() == ([], [])


def test_expired_order_is_removed_before_the_next_command_touches_it(harness: Harness) -> None:
    harness.sell(101, 5, account=BOB, expiry=2_000)
    harness.sell(102, 5, account=BOB)
    harness.clock.time = 2_500
    events = harness.buy(105, 5)
    assert kinds(events)[:2] == ["Expired", "BookDelta"]
    assert [e.price for e in events if isinstance(e, Filled)] == [102]


def test_a_filled_or_cancelled_order_does_not_expire(harness: Harness) -> None:
    harness.buy(100, 5, expiry=2_000)
    harness.buy(100, 5, expiry=2_000)
    harness.sell(100, 5, account=BOB)
    harness.submit(Cancel(M, OrderId(2)))
    harness.clock.time = 3_000
    assert harness.submit(Tick()) == []


def test_partially_filled_order_expires_with_its_remainder(harness: Harness) -> None:
    harness.buy(100, 5, expiry=2_000)
    harness.sell(100, 2, account=BOB)
    harness.clock.time = 2_000
    (expired, _) = harness.submit(Tick())
    assert expired == Expired(3, M, OrderId(1), ALICE, 3)


def test_expiries_fire_in_time_order(harness: Harness) -> None:
    harness.buy(100, 1, expiry=3_000)
    harness.buy(100, 1, expiry=2_000)
    harness.buy(95, 10, market=COARSE, expiry=2_000)
    harness.clock.time = 5_000
    events = harness.submit(Tick())
    assert [(e.market, e.order_id) for e in events if isinstance(e, Expired)] == [
        (M, 2),
        (COARSE, 3),
        (M, 1),
    ]


def test_next_due_tells_when_to_tick(harness: Harness) -> None:
    assert harness.engine.next_due() is None
    harness.buy(100, 1, expiry=4_000)
    harness.submit(SetDeadMan(BOB, 3_000))
    assert harness.engine.next_due() == 3_000
    assert harness.sequencer.tick() is None  # nothing due yet: no command journaled
    harness.clock.time = 3_000
    assert harness.sequencer.tick() == 3


def test_dead_man_switch_cancels_everything_of_the_account(harness: Harness) -> None:
    harness.buy(100, 1)
    harness.buy(95, 10, market=COARSE)
    harness.buy(99, 1, account=BOB)
    assert harness.submit(SetDeadMan(ALICE, 2_000)) == [DeadManSet(4, ALICE, 2_000)]
    harness.clock.time = 2_000
    events = harness.submit(Tick())
    assert [(e.market, e.order_id, e.reason) for e in events if isinstance(e, Cancelled)] == [
        (M, 1, CancelReason.DEAD_MAN),
        (COARSE, 2, CancelReason.DEAD_MAN),
    ]
    assert harness.book() == ([(99, [(3, 1)])], [])
    assert dict(harness.engine.dead_man) == {}


def test_heartbeat_pushes_the_deadline_back(harness: Harness) -> None:
    harness.buy(100, 1)
    harness.submit(SetDeadMan(ALICE, 2_000))
    harness.clock.time = 1_500
    harness.submit(SetDeadMan(ALICE, 2_500))  # heartbeat
    harness.clock.time = 2_000
    assert harness.submit(Tick()) == []
    harness.clock.time = 2_500
    assert kinds(harness.submit(Tick()))[0] == "Cancelled"


def test_disarmed_switch_never_fires(harness: Harness) -> None:
    harness.buy(100, 1)
    harness.submit(SetDeadMan(ALICE, 2_000))
    harness.submit(SetDeadMan(ALICE, 0))
    harness.clock.time = 10_000
    assert harness.submit(Tick()) == []
    assert harness.book() == ([(100, [(1, 1)])], [])


def test_switch_fires_once_and_spares_later_orders(harness: Harness) -> None:
    harness.submit(SetDeadMan(ALICE, 2_000))
    harness.clock.time = 2_000
    harness.submit(Tick())
    harness.buy(100, 1)
    harness.clock.time = 9_000
    assert harness.submit(Tick()) == []
    assert harness.book() == ([(100, [(1, 1)])], [])


def test_deadline_not_in_the_future_is_rejected(harness: Harness) -> None:
    (event,) = harness.submit(SetDeadMan(ALICE, harness.clock.time))
    assert isinstance(event, Rejected)


def test_timers_of_filled_orders_do_not_pile_up_until_their_expiry(harness: Harness) -> None:
    # a day-long expiry per order, every order filled at once: without compaction the heap
    # holds one entry per order ever placed until the first of them comes due
    harness.buy(99, 1, expiry=5_000)  # rests: its entry must survive every compaction
    for _ in range(3 * COMPACT_MIN):
        harness.buy(100, 1, expiry=DAY_MS)
        harness.sell(100, 1, account=BOB, expiry=DAY_MS)

    assert len(harness.engine.timers.heap) <= 2 * COMPACT_MIN  # whatever the orders placed
    harness.clock.time = 5_000
    assert harness.submit(Tick())[0] == Expired(6 * COMPACT_MIN + 2, M, OrderId(1), ALICE, 1)


def test_re_armed_dead_man_switches_do_not_pile_up(harness: Harness) -> None:
    last = 10_000 + 3 * COMPACT_MIN
    harness.buy(100, 1, account=BOB)
    for deadline in range(10_000, last + 1):
        harness.submit(SetDeadMan(BOB, deadline))

    assert len(harness.engine.timers.heap) <= 2 * COMPACT_MIN
    harness.clock.time = last - 1
    assert harness.submit(Tick()) == []  # the earlier deadlines were replaced
    harness.clock.time = last
    assert "Cancelled" in kinds(harness.submit(Tick()))
