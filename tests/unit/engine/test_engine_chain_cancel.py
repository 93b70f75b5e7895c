"""``ChainCancel``: what the chain closed leaves the book, by a journaled command."""

from __future__ import annotations

from pathlib import Path

from tests.unit.engine.engine_testing import ALICE, BOB, COARSE, MARKETS, Harness, M

from perpdex.core.types import MarketId, OrderHash, OrderId, Price, Side, Size
from perpdex.engine import CancelReason, ChainCancel, FileJournal, RejectedFill, recover
from perpdex.engine.events import BookDelta, Cancelled, Event, EventBus, FillRejected


def _rejected() -> RejectedFill:
    return RejectedFill(
        market=M,
        price=Price(100),
        size=Size(2),
        taker_side=Side.BUY,
        maker_account=ALICE,
        taker_account=BOB,
        maker_hash=OrderHash(b"\x01" * 32),
        taker_hash=OrderHash(b"\x02" * 32),
        cause="ORDER_CLOSED",
    )


def test_orders_closed_on_chain_leave_the_book_with_that_reason(harness: Harness) -> None:
    harness.buy(100, 5)
    harness.buy(99, 3)
    harness.sell(110, 10, account=BOB, market=COARSE)
    command = ChainCancel(
        orders=((M, OrderId(1)), (COARSE, OrderId(3))), reason=CancelReason.ON_CHAIN
    )
    events = harness.submit(command)
    assert events == [
        Cancelled(4, M, OrderId(1), ALICE, 5, CancelReason.ON_CHAIN),
        BookDelta(4, M, Side.BUY, 100, 0),
        Cancelled(4, COARSE, OrderId(3), BOB, 10, CancelReason.ON_CHAIN),
        BookDelta(4, COARSE, Side.SELL, 110, 0),
    ]
    assert harness.book() == ([(99, [(2, 3)])], [])


def test_a_chain_cancel_of_orders_no_longer_resting_changes_nothing(harness: Harness) -> None:
    harness.buy(100, 5)
    harness.sell(100, 5, account=BOB)  # fills order 1 whole
    command = ChainCancel(
        orders=((M, OrderId(1)), (M, OrderId(2)), (MarketId(9), OrderId(7))),
        reason=CancelReason.ON_CHAIN,
    )
    assert harness.submit(command) == []


def test_a_rejected_fill_is_reported_before_the_rest_of_its_orders_is_cancelled(
    harness: Harness,
) -> None:
    harness.sell(100, 5)
    harness.buy(100, 2, account=BOB)  # order 1 keeps 3
    rejected = _rejected()
    command = ChainCancel(
        orders=((M, OrderId(1)), (M, OrderId(2))),
        reason=CancelReason.FILL_REJECTED,
        rejected=rejected,
    )
    events = harness.submit(command)
    assert events[:2] == [
        FillRejected(3, rejected),
        Cancelled(3, M, OrderId(1), ALICE, 3, CancelReason.FILL_REJECTED),
    ]
    assert harness.book() == ([], [])


def test_replay_of_the_journal_repeats_chain_cancels_and_rejected_fills(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "journal.bin")
    harness = Harness(journal=journal)
    harness.sell(100, 5)
    harness.buy(100, 2, account=BOB)
    harness.buy(90, 4, account=BOB)
    harness.submit(
        ChainCancel(
            orders=((M, OrderId(1)),), reason=CancelReason.FILL_REJECTED, rejected=_rejected()
        )
    )
    harness.submit(ChainCancel(orders=((M, OrderId(3)),), reason=CancelReason.ON_CHAIN))
    harness.sequencer.flush()
    journal.close()

    replayed: list[Event] = []
    bus = EventBus()
    bus.subscribe(replayed.append)
    reopened = FileJournal(tmp_path / "journal.bin")
    engine, _ = recover(reopened, MARKETS, bus)
    reopened.close()
    assert replayed == harness.events
    assert not list(engine.markets[M].resting_orders())
