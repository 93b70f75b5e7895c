"""Trigger orders: held off the book until an index price crosses their trigger, then
entered as new orders, in a fixed order; every cancel reaches them; replay repeats it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.unit.engine.engine_testing import ALICE, BOB, CAROL, COARSE, MARKETS, Harness, M, kinds

from perpdex.core.types import ClientOrderId, MarketId, OrderId, Price, Side, Size
from perpdex.core.types import TimeInForce as Tif
from perpdex.core.types import TriggerDirection as Trigger
from perpdex.engine import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    CancelReason,
    ChainCancel,
    ChainHead,
    EventBus,
    FileJournal,
    IndexPrice,
    RejectReason,
    SetDeadMan,
    Tick,
    recover,
    snapshot_bytes,
)
from perpdex.engine.codec import decode, decode_order, encode, encode_order
from perpdex.engine.events import (
    Accepted,
    Cancelled,
    Event,
    Filled,
    Rejected,
    Triggered,
    Untriggered,
)
from perpdex.engine.snapshot import load_snapshot

BELOW = {"trigger": Trigger.AT_OR_BELOW}
ABOVE = {"trigger": Trigger.AT_OR_ABOVE}


def stop(harness: Harness, trigger_price: int, size: int = 5, **terms: Any) -> list[Event]:
    """A sell stop (a long's stop-loss): a market sell with worst price 1 below the trigger."""
    terms.setdefault("tif", Tif.IOC)
    return harness.sell(1, size, trigger=Trigger.AT_OR_BELOW, trigger_price=trigger_price, **terms)


def triggered(events: list[Event]) -> list[int]:
    return [e.order_id for e in events if isinstance(e, Triggered)]


def fills(events: list[Event]) -> list[tuple[int, int, int, int]]:
    """(taker, maker, price, size) of each fill."""
    return [
        (e.taker_order_id, e.maker_order_id, e.price, e.size)
        for e in events
        if isinstance(e, Filled)
    ]


def test_a_held_stop_is_off_the_book_and_cannot_be_matched(harness: Harness) -> None:
    events = stop(harness, 95)
    assert kinds(events) == ["Accepted"]
    assert harness.book() == ([], [])
    assert harness.engine.markets[M].held_of(ALICE)[0].order_id == 1
    # a buy that would cross a resting sell at any price meets nothing
    assert fills(harness.buy(1_000, 5, account=BOB)) == []
    assert harness.engine.markets[M].best_ask() is None
    state = harness.states.orders[(M, OrderId(1))]
    assert state.held and state.remaining == 5


def test_an_index_above_the_trigger_never_releases_a_stop(harness: Harness) -> None:
    """The attack an operator could try: fire a stop before the index gets there."""
    stop(harness, 95)
    harness.buy(94, 5, account=BOB)
    for price in (200, 100, 96, 96, 95 + 1):
        assert harness.index(price) == []
    # nor does an index of another market, even one that crosses
    assert triggered(harness.index(90, market=COARSE)) == []
    assert len(harness.engine.markets[M].held) == 1
    events = harness.index(95)  # at the trigger: released
    assert kinds(events)[:2] == ["Triggered", "Filled"]
    assert fills(events) == [(1, 2, 94, 5)]
    event = events[0]
    assert isinstance(event, Triggered) and event.index_price == 95


def test_a_take_profit_fires_at_or_above(harness: Harness) -> None:
    harness.sell(110, 10, trigger=Trigger.AT_OR_ABOVE, trigger_price=105)
    assert harness.index(104) == []
    events = harness.index(105)
    assert triggered(events) == [1]
    # a GTC limit released with no buyer rests at its limit
    assert harness.book() == ([], [(110, [(1, 10)])])
    assert harness.states.orders[(M, OrderId(1))].held is False


def test_releases_nearest_the_previous_index_first_then_by_id(harness: Harness) -> None:
    harness.index(100)
    for trigger_price in (96, 98, 97, 98):  # ids 1..4
        stop(harness, trigger_price, size=1, account=BOB)
    harness.buy(90, 10, account=CAROL)  # id 5
    events = harness.index(90)
    assert triggered(events) == [2, 4, 3, 1]
    assert [taker for taker, _, _, _ in fills(events)] == [2, 4, 3, 1]
    for trigger_price in (104, 102, 103):  # ids 6..8, take-profits of a short
        harness.buy(200, 1, account=BOB, tif=Tif.IOC, **ABOVE, trigger_price=trigger_price)
    assert triggered(harness.index(110)) == [7, 8, 6]


def test_an_order_placed_past_its_trigger_is_released_at_once(harness: Harness) -> None:
    harness.buy(94, 5, account=BOB)
    harness.index(94)
    events = stop(harness, 95)
    assert kinds(events)[:3] == ["Accepted", "Triggered", "Filled"]
    assert len(harness.engine.markets[M].held) == 0


def test_no_index_yet_holds_every_trigger_order(harness: Harness) -> None:
    stop(harness, 95)  # 1
    harness.buy(200, 5, account=BOB, tif=Tif.IOC, **ABOVE, trigger_price=105)  # 2
    harness.buy(200, 5, account=CAROL, tif=Tif.IOC, **ABOVE, trigger_price=90)  # 3
    assert len(harness.engine.markets[M].held) == 3
    # the first index of the market crosses orders of both directions: released by id
    assert triggered(harness.index(92)) == [1, 3]


@pytest.mark.parametrize(
    "cancel",
    [
        lambda h: Cancel(M, OrderId(1)),
        lambda h: CancelByClientId(M, ALICE, ClientOrderId("sl")),
        lambda h: CancelAll(M, ALICE),
        lambda h: CancelAccount(ALICE),
        lambda h: ChainCancel(orders=((M, OrderId(1)),), reason=CancelReason.ON_CHAIN),
    ],
    ids=["by_id", "by_client_id", "all", "account", "chain"],
)
def test_every_cancel_reaches_a_held_order(harness: Harness, cancel: Any) -> None:
    stop(harness, 95, client_id="sl")
    events = harness.submit(cancel(harness))
    assert [(e.order_id, e.size) for e in events if isinstance(e, Cancelled)] == [(1, 5)]
    assert len(harness.engine.markets[M].held) == 0
    assert harness.states.open_orders() == {}
    # gone: the client id is free again and an index crossing its trigger releases nothing
    harness.buy(90, 5, account=BOB)
    assert harness.index(90) == []
    assert kinds(stop(harness, 95, client_id="sl"))[:2] == ["Accepted", "Triggered"]


def test_cancel_all_takes_resting_and_held_by_id(harness: Harness) -> None:
    harness.buy(90, 1)  # 1
    stop(harness, 95, size=1)  # 2
    harness.sell(110, 1)  # 3
    events = harness.submit(CancelAll(M, ALICE))
    assert [e.order_id for e in events if isinstance(e, Cancelled)] == [1, 2, 3]


def test_dead_man_and_expiry_reach_held_orders(harness: Harness) -> None:
    now = harness.clock.time
    stop(harness, 95, expiry=now + 10)  # 1
    stop(harness, 94, account=BOB)  # 2
    harness.submit(SetDeadMan(BOB, now + 5))
    harness.clock.time = now + 6
    events = harness.submit(Tick())
    assert [(e.order_id, e.reason) for e in events if isinstance(e, Cancelled)] == [
        (2, CancelReason.DEAD_MAN)
    ]
    harness.clock.time = now + 10
    events = harness.submit(Tick())
    assert kinds(events) == ["Expired"]
    assert len(harness.engine.markets[M].held) == 0


def test_a_held_order_cannot_be_amended(harness: Harness) -> None:
    stop(harness, 95)
    events = harness.submit(Amend(market=M, order_id=OrderId(1), price=Price(2), size=Size(5)))
    assert [e.reason for e in events if isinstance(e, Rejected)] == [RejectReason.NOT_TRIGGERED]


@pytest.mark.parametrize(
    ("trigger", "trigger_price"),
    [(Trigger.AT_OR_BELOW, 0), (Trigger.AT_OR_ABOVE, -5), (Trigger.NONE, 95)],
)
def test_a_bad_trigger_is_rejected(harness: Harness, trigger: Trigger, trigger_price: int) -> None:
    events = harness.sell(1, 5, trigger=trigger, trigger_price=trigger_price)
    assert [e.reason for e in events if isinstance(e, Rejected)] == [RejectReason.BAD_TRIGGER]
    assert len(harness.engine.markets[M].held) == 0


def test_a_released_post_only_that_would_cross_is_cancelled(harness: Harness) -> None:
    harness.buy(96, 5, account=BOB)
    stop(harness, 95, tif=Tif.POST_ONLY)  # a sell post-only at 1 crosses the bid
    events = harness.index(95)
    assert kinds(events) == ["Triggered", "Cancelled"]
    cancelled = events[1]
    assert isinstance(cancelled, Cancelled)
    assert cancelled.reason is CancelReason.POST_ONLY_WOULD_CROSS
    assert harness.book()[0] == [(96, [(1, 5)])]


def test_a_released_reduce_only_order_is_sized_to_the_position_at_release() -> None:
    positions = {ALICE: 0}
    harness = Harness(positions=lambda account, market: positions.get(account, 0))
    stop(harness, 95, size=8, reduce_only=True)  # accepted while flat: held
    harness.buy(90, 20, account=BOB)
    positions[ALICE] = 5  # the long it protects, by the time the index gets there
    events = harness.index(95)
    # the stamped position travels in the journaled command
    assert fills(events) == [(1, 2, 90, 5)]
    assert [(e.size, e.reason) for e in events if isinstance(e, Cancelled)] == [
        (3, CancelReason.REDUCE_ONLY_EXCEEDS_POSITION)
    ]


def test_two_stops_of_one_position_cannot_both_close_it() -> None:
    harness = Harness(positions=lambda account, market: 5 if account == ALICE else 0)
    stop(harness, 96, reduce_only=True)  # 1
    stop(harness, 95, reduce_only=True)  # 2
    harness.buy(90, 20, account=BOB)
    events = harness.index(94)
    assert triggered(events) == [1, 2]
    assert fills(events) == [(1, 3, 90, 5)]
    assert [(e.order_id, e.size) for e in events if isinstance(e, Cancelled)] == [(2, 5)]


def test_a_reduce_only_stop_with_no_position_left_enters_nothing() -> None:
    harness = Harness()  # flat
    stop(harness, 95, reduce_only=True)
    harness.buy(90, 20, account=BOB)
    events = harness.index(95)
    assert kinds(events) == ["Triggered", "Cancelled"]
    assert fills(events) == []


def test_the_sequencer_stamps_positions_of_released_reduce_only_orders_only() -> None:
    harness = Harness(positions=lambda account, market: {ALICE: 5, BOB: -3}.get(account, 0))
    stop(harness, 95, reduce_only=True)  # released by 95
    harness.buy(1, 3, account=BOB, reduce_only=True, **ABOVE, trigger_price=120)  # not
    stop(harness, 95, account=CAROL)  # released, not reduce-only
    stamped = harness.sequencer._stamp_positions(IndexPrice(market=M, price=Price(95)))
    assert stamped.positions == ((ALICE, 5),)


def test_codec_round_trips_trigger_orders_and_index_prices(harness: Harness) -> None:
    order = harness.order(
        Side.SELL, 1, 5, reduce_only=True, client_id="sl", **BELOW, trigger_price=95
    )
    assert decode(encode(3, 7, order)) == (3, 7, order)
    assert decode_order(encode_order(order)) == order
    plain = harness.order(Side.SELL, 1, 5)
    assert decode_order(encode_order(plain)) == plain
    index = IndexPrice(market=M, price=Price(123), positions=((ALICE, -4), (BOB, 9)))
    assert decode(encode(9, 1, index)) == (9, 1, index)
    # a plain order's entry is what it was before trigger orders existed (kind 0)
    assert encode(3, 7, plain)[16] == 0 and encode(3, 7, order)[16] == 10


def test_snapshot_and_replay_repeat_the_releases(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "journal.bin")
    harness = Harness(journal=journal, positions=lambda account, market: 5)
    harness.index(100)
    stop(harness, 95, reduce_only=True)
    stop(harness, 97, account=BOB, tif=Tif.GTC)
    harness.buy(96, 2, account=CAROL)
    harness.sell(110, 1, account=CAROL, **ABOVE, trigger_price=105, client_id="tp")
    head = ChainHead(harness.sequencer.seq, b"")
    data = snapshot_bytes(harness.engine, head)
    restored, _ = load_snapshot(data)
    assert snapshot_bytes(restored, head) == data
    assert restored.markets[M].index == 100 and len(restored.markets[M].held) == 3
    cut = len(harness.events)
    harness.index(96)
    harness.index(94)
    harness.index(106)
    assert triggered(harness.events[cut:]) == [2, 1, 4]
    harness.sequencer.flush()
    replayed: list[Event] = []
    bus = EventBus()
    bus.subscribe(replayed.append)
    engine, _ = recover(FileJournal(tmp_path / "journal.bin"), MARKETS, bus)
    assert replayed == harness.events
    final = ChainHead(harness.sequencer.seq, b"")
    assert snapshot_bytes(engine, final) == snapshot_bytes(harness.engine, final)


def test_accepted_states_the_terms_with_their_trigger(harness: Harness) -> None:
    events = stop(harness, 95)
    accepted = events[0]
    assert isinstance(accepted, Accepted)
    assert accepted.order.trigger is Trigger.AT_OR_BELOW
    assert accepted.order.trigger_price == 95
    assert accepted.order.market == MarketId(0)


def test_a_resting_released_order_is_held_again_when_the_index_goes_back(
    harness: Harness,
) -> None:
    """A take-profit limit that rested once released: the contract settles its fills only
    while the index is at or above its trigger, so it leaves the book when it falls back,
    with what is left of it, and returns when the index crosses again."""
    harness.sell(110, 10, **ABOVE, trigger_price=105)  # 1
    harness.index(106)
    assert harness.book()[1] == [(110, [(1, 10)])]
    harness.buy(110, 3, account=BOB)  # 2 takes 3
    events = harness.index(104)
    assert [(e.order_id, e.size, e.index_price) for e in events if isinstance(e, Untriggered)] == [
        (1, 7, 104)
    ]
    assert harness.book() == ([], [])
    assert harness.states.orders[(M, OrderId(1))].held
    assert harness.states.open_orders() == {(M, OrderId(1)): 7}
    assert fills(harness.buy(110, 5, account=BOB)) == []  # nothing to take now
    head = ChainHead(harness.sequencer.seq, b"")
    data = snapshot_bytes(harness.engine, head)
    assert snapshot_bytes(load_snapshot(data)[0], head) == data  # its open size included
    events = harness.index(105)
    assert triggered(events) == [1]
    assert fills(events) == [(1, 3, 110, 5)]  # the bid that waited for it
    assert harness.book()[1] == [(110, [(1, 2)])]
    state = harness.states.orders[(M, OrderId(1))]
    assert (state.filled, state.remaining, state.held) == (8, 2, False)
