"""The SDK's receipt checks: a good receipt is kept; one signed by another key, for an
order the client was not acknowledged, at another seq, or malformed, is a BadReceiptError,
listed and logged, and never stored."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

import msgspec
import pytest

from perpdex.core.eip712 import ChainHeadHash, JournalSeq, Receipt, UnixMillis
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import EMBEDDED_SHARD, Address, OrderHash
from perpdex.gateway.protocol import ReceiptIssued
from perpdex.receipts import ReceiptStore, WireReceipt, receipt_domain, sign_receipt
from perpdex.sdk.receipts import BadReceiptError, MissingReceiptError, TraderReceipts

OPERATOR = SigningKey(keccak256(b"sdk receipts operator"))
OUTSIDER = SigningKey(keccak256(b"sdk receipts outsider"))
DOMAIN = receipt_domain(31337, Address("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"))
ORDER = OrderHash(keccak256(b"order"))
RECEIPT = Receipt(
    ORDER, EMBEDDED_SHARD, JournalSeq(12), ChainHeadHash(keccak256(b"head")), UnixMillis(1_790_000)
)


def frame(receipt: Receipt = RECEIPT, key: SigningKey = OPERATOR) -> ReceiptIssued:
    signature = sign_receipt(receipt, key, DOMAIN).signature
    return ReceiptIssued(receipt=WireReceipt.of(receipt, signature))


@pytest.fixture
def receipts(tmp_path: Path) -> TraderReceipts:
    book = TraderReceipts(DOMAIN, ReceiptStore(tmp_path / "receipts"))
    book.operator = OPERATOR.address
    book.acked(ORDER, 12)
    return book


def stored(receipts: TraderReceipts) -> list[Receipt]:
    assert receipts.store is not None
    return [signed.receipt for signed in receipts.store]


def test_a_good_receipt_is_kept(receipts: TraderReceipts) -> None:
    signed = receipts.on_frame(frame())
    assert not isinstance(signed, BadReceiptError)
    assert signed.signer == OPERATOR.address
    assert receipts.received == {ORDER: signed}
    assert receipts.awaited() == {}
    assert stored(receipts) == [RECEIPT]
    assert asyncio.run(receipts.wait(ORDER, 1)) == signed


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (frame(key=OUTSIDER), "not by the operator"),
        (frame(dataclasses.replace(RECEIPT, seq=JournalSeq(13))), "acknowledged at seq 12"),
        (
            frame(dataclasses.replace(RECEIPT, order_hash=OrderHash(keccak256(b"other")))),
            "no acknowledged order",
        ),
        (
            ReceiptIssued(receipt=msgspec.structs.replace(frame().receipt, head="0x12")),
            "malformed",
        ),
    ],
)
def test_a_bad_receipt_is_an_error_and_never_stored(
    receipts: TraderReceipts,
    bad: ReceiptIssued,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        error = receipts.on_frame(bad)
    assert isinstance(error, BadReceiptError)
    assert reason in str(error)
    assert receipts.bad == [error]
    assert receipts.received == {}
    assert stored(receipts) == []
    assert reason in caplog.text


def test_waiting_for_a_bad_receipt_raises_it(receipts: TraderReceipts) -> None:
    receipts.on_frame(frame(key=OUTSIDER))
    with pytest.raises(BadReceiptError, match="not by the operator"):
        asyncio.run(receipts.wait(ORDER, 1))


def test_a_receipt_that_never_comes_is_missing(receipts: TraderReceipts) -> None:
    with pytest.raises(MissingReceiptError):
        asyncio.run(receipts.wait(ORDER, 0.05))
    assert receipts.awaited() == {ORDER: 12}


def test_without_the_operator_known_nothing_passes(tmp_path: Path) -> None:
    book = TraderReceipts(DOMAIN, ReceiptStore(tmp_path))
    book.acked(ORDER, 12)
    assert isinstance(book.on_frame(frame()), BadReceiptError)
    assert list(ReceiptStore(tmp_path)) == []


def test_the_same_receipt_again_is_no_error(receipts: TraderReceipts) -> None:
    first = receipts.on_frame(frame())
    assert receipts.on_frame(frame()) == first  # an idempotent retry's ack brings it again
    assert receipts.bad == []
    assert stored(receipts) == [RECEIPT]


def test_a_second_different_receipt_is_kept_as_evidence(receipts: TraderReceipts) -> None:
    receipts.on_frame(frame())
    other = dataclasses.replace(RECEIPT, head=ChainHeadHash(keccak256(b"fork")))
    error = receipts.on_frame(frame(other))
    assert isinstance(error, BadReceiptError)
    assert "both are kept as evidence" in str(error)
    assert sorted(r.head for r in stored(receipts)) == sorted([RECEIPT.head, other.head])


def test_a_second_receipt_by_another_key_is_not_kept(receipts: TraderReceipts) -> None:
    receipts.on_frame(frame())
    other = dataclasses.replace(RECEIPT, head=ChainHeadHash(keccak256(b"fork")))
    assert isinstance(receipts.on_frame(frame(other, OUTSIDER)), BadReceiptError)
    assert stored(receipts) == [RECEIPT]
