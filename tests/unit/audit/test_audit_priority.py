"""A journal that misstates a trader's signed order (re-hashed, so its chain holds) lets the
engine serve a later order first; only the reference, which reads the signed terms, sees
the queue jump."""

from __future__ import annotations

from pathlib import Path

from tests.unit.audit.audit_testing import audit, key, misstated, signed_order, write_journal

from perpdex.audit.findings import Check
from perpdex.core.types import Price
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine.commands import StpMode

FIRST, SECOND, TAKER = key("first maker"), key("second maker"), key("taker")


def test_an_honest_journal_of_signed_orders_passes(tmp_path: Path) -> None:
    commands = [
        (1_000, signed_order(FIRST, 1, buy=False, price=100)),
        (1_001, signed_order(SECOND, 2, buy=False, price=100)),
        (1_002, signed_order(TAKER, 3, buy=True, price=101, tif=Tif.IOC)),
    ]
    report = audit(write_journal(tmp_path / "j.bin", commands))
    assert report.ok, report.text()
    assert report.summary.fills == 1


def test_a_later_order_at_the_same_price_filled_first_is_a_queue_jump(tmp_path: Path) -> None:
    first = signed_order(FIRST, 1, buy=False, price=100)
    second = signed_order(SECOND, 2, buy=False, price=100)
    # the journal says the first maker asked 101: the engine serves the second one first
    commands = [
        (1_000, misstated(first, price=Price(101))),
        (1_001, second),
        (1_002, signed_order(TAKER, 3, buy=True, price=101, tif=Tif.IOC)),
    ]
    report = audit(write_journal(tmp_path / "j.bin", commands))

    assert [d.check for d in report.discrepancies] == [Check.PRIORITY]
    found = report.first
    assert found is not None and found.seq == 3
    assert "order #2" in found.detail and "jumped the queue" in found.detail
    assert "order #1" in found.detail and "same price 100" in found.detail
    assert found.order_hash is not None and found.order_hash in found.detail  # the jumper's


def test_a_fill_against_a_worse_price_is_caught(tmp_path: Path) -> None:
    # the first maker's signed ask (99) is stated as 102: the engine fills the 100 first
    commands = [
        (1_000, misstated(signed_order(FIRST, 1, buy=False, price=99), price=Price(102))),
        (1_001, signed_order(SECOND, 2, buy=False, price=100)),
        (1_002, signed_order(TAKER, 3, buy=True, price=101, tif=Tif.IOC)),
    ]
    found = audit(write_journal(tmp_path / "j.bin", commands)).first
    assert found is not None and found.check is Check.PRIORITY
    assert "at the better price 99" in found.detail


def test_a_self_trade_forged_into_the_journal_is_caught(tmp_path: Path) -> None:
    # the taker is stated to be the first maker's own account: self-trade prevention
    # cancels that maker, so the second one fills; the taker's signature says otherwise
    taker = signed_order(TAKER, 3, buy=True, price=100, tif=Tif.IOC)
    commands = [
        (1_000, signed_order(FIRST, 1, buy=False, price=100)),
        (1_001, signed_order(SECOND, 2, buy=False, price=100)),
        (1_002, misstated(taker, account=FIRST.address, stp=StpMode.CANCEL_RESTING)),
    ]
    found = audit(write_journal(tmp_path / "j.bin", commands)).first
    assert found is not None and found.check is Check.PRIORITY
    assert "jumped the queue" in found.detail
