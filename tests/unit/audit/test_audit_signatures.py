"""Every order the journal holds was signed by the trader it names: an order made up in a
trader's name (no signed order, or one signed by another key) and an amend signed by
someone other than the order's trader are each named at their sequence number, even
when the made-up order took a real trader's resting order off the book."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.unit.audit.audit_testing import audit, key, signed_order, write_journal

from perpdex.audit.findings import Check
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine.commands import Amend, NewOrder

MAKER, VICTIM, OPERATOR = key("maker"), key("victim"), key("operator")


def test_orders_signed_by_their_traders_pass(tmp_path: Path) -> None:
    resting = signed_order(MAKER, 1, buy=False, price=100, size=2)
    commands = [
        (1_000, resting),
        (1_001, signed_order(VICTIM, 2, buy=True, price=100, tif=Tif.IOC)),
        (1_002, _amend(resting, signed_order(MAKER, 1, buy=False, price=101, size=2))),
    ]
    report = audit(write_journal(tmp_path / "j.bin", commands))

    assert report.ok, report.text()
    assert report.summary.signatures == 3
    assert report.summary.fills == 1


def test_an_order_made_up_in_a_traders_name_is_named(tmp_path: Path) -> None:
    # the operator signs an IOC buy in the victim's name: it takes the maker's ask, which
    # the chain would then refuse to settle
    forged = signed_order(VICTIM, 2, buy=True, price=100, tif=Tif.IOC, signer=OPERATOR)
    commands = [(1_000, signed_order(MAKER, 1, buy=False, price=100)), (1_001, forged)]
    report = audit(write_journal(tmp_path / "j.bin", commands))

    assert report.summary.fills == 1  # the engine matched it, as the replay shows
    found = report.first
    assert found is not None and found.check is Check.SIGNATURE and found.seq == 2
    assert found.detail.startswith("order #2 (0x") and "is not signed by its trader" in found.detail
    assert found.order_hash is not None
    assert len(report.discrepancies) == 1


def test_an_order_with_no_signed_order_is_named(tmp_path: Path) -> None:
    bare = signed_order(VICTIM, 2, buy=True, price=100)
    commands = [(1_000, signed_order(MAKER, 1, buy=False, price=100)), (1_001, _bare(bare))]
    found = audit(write_journal(tmp_path / "j.bin", commands)).first

    assert found is not None and found.check is Check.SIGNATURE and found.seq == 2
    assert found.detail == "order #2 carries no signed order"


def test_an_amend_signed_by_another_trader_is_named(tmp_path: Path) -> None:
    resting = signed_order(MAKER, 1, buy=False, price=100)
    # a well-signed order, but the victim's: moved onto the maker's order by the operator
    moved = _amend(resting, signed_order(VICTIM, 1, buy=False, price=105))
    commands = [(1_000, resting), (1_001, moved)]
    report = audit(write_journal(tmp_path / "j.bin", commands))

    found = report.first
    assert found is not None and found.check is Check.SIGNATURE and found.seq == 2
    assert f"is signed by {VICTIM.address}, the order is {MAKER.address}'s" in found.detail


def test_an_unsigned_journal_is_not_checked_and_says_so(tmp_path: Path) -> None:
    commands = [(1_000, _bare(signed_order(MAKER, 1, buy=False, price=100)))]
    report = audit(write_journal(tmp_path / "j.bin", commands), domain=None)

    assert report.ok and report.summary.signatures == 0
    assert any(why.startswith("signatures: no signing domain") for why in report.not_run)


def _amend(order: NewOrder, signed: NewOrder) -> Amend:
    """An amend of ``order`` to the terms of ``signed``, carrying its signed order."""
    return Amend(
        market=order.market,
        order_id=order.order_id,
        price=signed.price,
        size=signed.size,
        payload=signed.payload,
    )


def _bare(order: NewOrder) -> NewOrder:
    return replace(order, payload=b"")
