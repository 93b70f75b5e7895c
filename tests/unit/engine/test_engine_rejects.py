"""Bad input is rejected with a typed reason and changes nothing."""

from __future__ import annotations

import pytest
from tests.unit.engine.engine_testing import ALICE, BOB, COARSE, Harness, M

from perpdex.core.types import Address, ClientOrderId, MarketId, OrderId, Price, Side, Size
from perpdex.engine import (
    Amend,
    Cancel,
    CancelAll,
    CancelByClientId,
    ChainHead,
    Command,
    RejectReason,
    SetDeadMan,
    snapshot_bytes,
)
from perpdex.engine.events import Rejected


def state(harness: Harness) -> bytes:
    return snapshot_bytes(harness.engine, ChainHead(0, bytes(32)))


@pytest.fixture
def busy() -> Harness:
    """A harness with resting orders in both markets, an armed dead-man switch."""
    harness = Harness()
    harness.buy(100, 5, client_id="bid")  # 1
    harness.sell(105, 5, account=BOB)  # 2
    harness.buy(95, 20, market=COARSE)  # 3
    harness.submit(SetDeadMan(ALICE, 5_000))
    return harness


def new(order_id: int, price: int, size: int, market: MarketId = M) -> Command:
    harness = Harness()
    harness.next_id = order_id
    return harness.order(Side.BUY, price, size, market=market)


BAD: list[tuple[str, Command, RejectReason]] = [
    ("unknown market", new(10, 100, 1, MarketId(7)), RejectReason.UNKNOWN_MARKET),
    ("zero size", new(10, 100, 0), RejectReason.BAD_SIZE),
    ("negative size", new(10, 100, -3), RejectReason.BAD_SIZE),
    ("zero price", new(10, 0, 1), RejectReason.BAD_PRICE),
    ("negative price", new(10, -100, 1), RejectReason.BAD_PRICE),
    ("off tick", new(10, 97, 10, COARSE), RejectReason.BAD_TICK),
    ("off lot", new(10, 95, 15, COARSE), RejectReason.BAD_LOT),
    ("reused order id", new(2, 99, 1), RejectReason.DUPLICATE_ORDER_ID),
    ("older order id", new(1, 99, 1), RejectReason.DUPLICATE_ORDER_ID),
    ("cancel of an unknown id", Cancel(M, OrderId(99)), RejectReason.UNKNOWN_ORDER),
    ("cancel in the wrong market", Cancel(COARSE, OrderId(1)), RejectReason.UNKNOWN_ORDER),
    ("cancel in an unknown market", Cancel(MarketId(7), OrderId(1)), RejectReason.UNKNOWN_MARKET),
    (
        "cancel of an unknown client id",
        CancelByClientId(M, ALICE, ClientOrderId("nope")),
        RejectReason.UNKNOWN_ORDER,
    ),
    (
        "cancel of another account's client id",
        CancelByClientId(M, BOB, ClientOrderId("bid")),
        RejectReason.UNKNOWN_ORDER,
    ),
    ("cancel-all in an unknown market", CancelAll(MarketId(7), ALICE), RejectReason.UNKNOWN_MARKET),
    (
        "amend of an unknown order",
        Amend(market=M, order_id=OrderId(99), price=Price(100), size=Size(1)),
        RejectReason.UNKNOWN_ORDER,
    ),
    (
        "amend to a zero size",
        Amend(market=M, order_id=OrderId(1), price=Price(100), size=Size(0)),
        RejectReason.BAD_SIZE,
    ),
    (
        "amend off tick",
        Amend(market=COARSE, order_id=OrderId(3), price=Price(96), size=Size(20)),
        RejectReason.BAD_TICK,
    ),
    ("dead-man deadline in the past", SetDeadMan(ALICE, 999), RejectReason.BAD_DEADLINE),
    ("dead-man deadline negative", SetDeadMan(ALICE, -1), RejectReason.BAD_DEADLINE),
]


@pytest.mark.parametrize(("name", "command", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_without_state_change(
    busy: Harness, name: str, command: Command, reason: RejectReason
) -> None:
    before = state(busy)
    events = busy.submit(command)
    assert events == [Rejected(busy.sequencer.seq, command, reason)]
    assert state(busy) == before


def test_duplicate_client_order_id_among_live_orders(busy: Harness) -> None:
    before = state(busy)
    (event,) = busy.buy(99, 1, client_id="bid")
    assert isinstance(event, Rejected)
    assert event.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID
    assert state(busy) == before


def test_a_client_order_id_is_free_again_once_its_order_is_gone(busy: Harness) -> None:
    busy.submit(CancelByClientId(M, ALICE, ClientOrderId("bid")))
    assert next(type(e).__name__ for e in busy.buy(99, 1, client_id="bid")) == "Accepted"
    # another account may use the same client id at any time
    assert next(type(e).__name__ for e in busy.buy(98, 1, client_id="bid", account=BOB)) == (
        "Accepted"
    )


def test_an_order_that_already_expired_is_rejected(busy: Harness) -> None:
    (event,) = busy.buy(99, 1, expiry=busy.clock.time)
    assert isinstance(event, Rejected)
    assert event.reason is RejectReason.EXPIRED


def test_unknown_account_in_cancel_all_is_no_error(busy: Harness) -> None:
    before = state(busy)
    assert busy.submit(CancelAll(M, Address("0x" + "00" * 20))) == []
    assert state(busy) == before
