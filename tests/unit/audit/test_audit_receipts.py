"""Receipts against the journal: the operator's honest receipts pass; a receipt past the
journal's end, at a moved order or with another time stamp is named with the receipt as
evidence; receipts by another key or for another deployment are set aside, not believed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.unit.audit.audit_testing import DOMAIN, key, signed_order, write_journal
from tests.unit.engine.engine_workloads import MARKETS

from perpdex.audit.audit import AuditSetup, run_audit
from perpdex.audit.findings import Check
from perpdex.audit.names import OrderNames
from perpdex.audit.receipts import HeldReceipt, ReceiptCheck
from perpdex.audit.report import Report
from perpdex.audit.source import open_source
from perpdex.core.eip712 import ChainHeadHash, Eip712Domain, JournalSeq, Receipt, UnixMillis
from perpdex.core.signing import SigningKey
from perpdex.core.types import EMBEDDED_SHARD, Address
from perpdex.engine.commands import NewOrder
from perpdex.engine.file_journal import read_file
from perpdex.receipts import receipt_domain, sign_receipt
from perpdex.settlement.payload import order_hash_of_payload

OPERATOR = key("operator")
RECEIPTS = receipt_domain(31337, Address("0x000000000000000000000000000000000000bEEF"))
ORDERS = [signed_order(key(f"trader {n}"), n, buy=n % 2 == 0, price=100 + n) for n in range(1, 5)]


def _journal(tmp_path: Path) -> Path:
    return write_journal(tmp_path / "j.bin", [(1_000 + n, order) for n, order in enumerate(ORDERS)])


def _receipts(
    path: Path, signer: SigningKey = OPERATOR, domain: Eip712Domain = RECEIPTS, **changes: object
) -> list[HeldReceipt]:
    held = []
    for item, order in zip(read_file(path), ORDERS, strict=True):
        receipt = Receipt(
            order_hash_of_payload(order.payload, DOMAIN),
            EMBEDDED_SHARD,
            JournalSeq(item.seq),
            ChainHeadHash(item.head),
            UnixMillis(999 + item.seq),
        )
        held.append(HeldReceipt(path, sign_receipt(replace(receipt, **changes), signer, domain)))  # type: ignore[arg-type]
    return held


def _audit(path: Path, receipts: list[HeldReceipt], journal: Path | None = None) -> Report:
    check = ReceiptCheck(receipts, RECEIPTS, [OPERATOR.address], OrderNames(DOMAIN))
    setup = AuditSetup(markets=MARKETS, domain=DOMAIN, chain=None, receipts=check)
    return run_audit(lambda first, until: open_source(str(journal or path), first, until), setup)


def test_the_operators_honest_receipts_pass(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    report = _audit(path, _receipts(path))
    assert report.ok, report.text()
    assert report.summary.receipts == 4


def test_a_journal_without_the_last_order_is_proved_short(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    receipts = _receipts(path)
    shorter = write_journal(
        tmp_path / "short.bin", [(1_000 + n, order) for n, order in enumerate(ORDERS[:3])]
    )
    found = _audit(path, receipts, shorter).first
    assert found is not None and found.check is Check.RECEIPT and found.seq == 4
    assert "ends at seq 3" in found.detail and "omitted" in found.detail
    assert found.evidence["signer"] == OPERATOR.address


def test_a_receipt_with_another_time_stamp(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    late = _receipts(path)
    late[1] = _receipts(path, time=UnixMillis(5))[1]
    found = _audit(path, late).first
    assert found is not None and found.seq == 2 and "stamped 1001, the receipt 5" in found.detail


def test_receipts_of_another_key_or_deployment_are_set_aside(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    wrong = ChainHeadHash(b"\x01" * 32)
    elsewhere = receipt_domain(1, Address("0x000000000000000000000000000000000000bEEF"))
    stranger = _receipts(path, signer=key("stranger"), head=wrong)[:2]
    other = _receipts(path, domain=elsewhere, head=wrong)[2:]
    report = _audit(path, stranger + other)
    assert report.ok and report.summary.receipts == 0
    notes = " ".join(report.not_run)
    assert notes.count("never the operator") == 2 and notes.count("another deployment") == 2


def test_an_order_moved_to_another_seq(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    receipts = _receipts(path)
    swapped = [ORDERS[0], ORDERS[2], ORDERS[1], ORDERS[3]]
    moved = write_journal(tmp_path / "moved.bin", [(1_000 + n, o) for n, o in enumerate(swapped)])
    found = _audit(path, receipts, moved).first
    assert found is not None and found.seq == 2 and "reordered" in found.detail
    assert "at seq 3" in found.detail
    assert isinstance(ORDERS[1], NewOrder)
