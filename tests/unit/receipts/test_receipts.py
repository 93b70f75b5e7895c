"""Receipts: the type string, eth-account equality, sign/verify, the wire form, the store."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import msgspec
import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_keys.constants import SECPK1_N
from hypothesis import given, settings
from hypothesis import strategies as st

from perpdex.core.eip712 import ChainHeadHash, JournalSeq, UnixMillis, typehash
from perpdex.core.signing import InvalidSignatureError, Signature, SigningKey, keccak256
from perpdex.core.types import Address, OrderHash, ShardId
from perpdex.receipts import (
    RECEIPT_TYPE,
    CorruptReceiptError,
    InvalidReceiptError,
    Receipt,
    ReceiptSignatureError,
    ReceiptStore,
    WireReceipt,
    load,
    load_all,
    receipt_domain,
    recover_receipt,
    sign_receipt,
    stored,
    trader_directory,
    verify_receipt,
)

RECEIPT_TYPE_STRING = "Receipt(bytes32 orderHash,uint16 shard,uint64 seq,bytes32 head,uint64 time)"

OPERATOR = SigningKey(bytes.fromhex("11" * 32))
OUTSIDER = SigningKey(bytes.fromhex("22" * 32))
CHECKPOINTS = Address("0x5FbDB2315678afecb367f032d93F642f64180aa3")
DOMAIN = receipt_domain(31337, CHECKPOINTS)

hashes = st.binary(min_size=32, max_size=32)
receipts = st.builds(
    Receipt,
    order_hash=hashes.map(OrderHash),
    shard=st.integers(0, 2**16 - 1).map(ShardId),
    seq=st.integers(1, 2**64 - 1).map(JournalSeq),
    head=hashes.map(ChainHeadHash),
    time=st.integers(0, 2**64 - 1).map(UnixMillis),
)


def receipt_for(
    seq: int = 7, head: bytes = b"\xaa" * 32, order: bytes = b"\x01" * 32, shard: int = 0
) -> Receipt:
    return Receipt(
        OrderHash(order),
        ShardId(shard),
        JournalSeq(seq),
        ChainHeadHash(head),
        UnixMillis(1_700_000),
    )


def test_type_string_and_typehash() -> None:
    assert RECEIPT_TYPE.type_string == RECEIPT_TYPE_STRING
    assert typehash("Receipt") == keccak256(RECEIPT_TYPE_STRING.encode())


@settings(max_examples=40, deadline=None)
@given(receipt=receipts)
def test_digest_and_signature_match_eth_account(receipt: Receipt) -> None:
    full_message = DOMAIN.full_message(receipt)
    expected = Account.sign_typed_data(OPERATOR.secret, full_message=full_message)
    assert DOMAIN.digest(receipt) == _hash_eip191_message(
        encode_typed_data(full_message=full_message)
    )

    signed = sign_receipt(receipt, OPERATOR, DOMAIN)
    assert signed.signature.to_bytes() == expected.signature
    assert verify_receipt(receipt, signed.signature, DOMAIN, OPERATOR.address) == signed
    assert recover_receipt(receipt, signed.signature, DOMAIN).signer == OPERATOR.address


def test_every_field_is_signed() -> None:
    receipt = receipt_for()
    signature = sign_receipt(receipt, OPERATOR, DOMAIN).signature
    for changed in (
        dataclasses.replace(receipt, order_hash=OrderHash(b"\x02" * 32)),
        dataclasses.replace(receipt, shard=ShardId(1)),
        dataclasses.replace(receipt, seq=JournalSeq(8)),
        dataclasses.replace(receipt, head=ChainHeadHash(b"\xab" * 32)),
        dataclasses.replace(receipt, time=UnixMillis(1_700_001)),
    ):
        with pytest.raises(ReceiptSignatureError):
            verify_receipt(changed, signature, DOMAIN, OPERATOR.address)


def test_a_receipt_is_bound_to_its_checkpoints_contract_and_chain() -> None:
    receipt = receipt_for()
    signature = sign_receipt(receipt, OPERATOR, DOMAIN).signature
    for other in (
        receipt_domain(1, CHECKPOINTS),
        receipt_domain(31337, Address("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")),
    ):
        with pytest.raises(ReceiptSignatureError):
            verify_receipt(receipt, signature, other, OPERATOR.address)


def test_a_receipt_by_anyone_but_the_operator_is_refused() -> None:
    receipt = receipt_for()
    forged = sign_receipt(receipt, OUTSIDER, DOMAIN)
    with pytest.raises(ReceiptSignatureError) as caught:
        verify_receipt(receipt, forged.signature, DOMAIN, OPERATOR.address)
    assert caught.value.signer == OUTSIDER.address
    assert OPERATOR.address in str(caught.value)


def test_a_high_s_signature_cannot_even_be_parsed() -> None:
    signature = sign_receipt(receipt_for(), OPERATOR, DOMAIN).signature
    mirrored = (
        signature.to_bytes()[:32]
        + (SECPK1_N - signature.s).to_bytes(32)
        + bytes((55 - signature.v,))
    )
    with pytest.raises(InvalidSignatureError, match="lower half"):
        Signature.from_bytes(mirrored)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("shard", -1),
        ("shard", 2**16),
        ("seq", 0),
        ("seq", 2**64),
        ("time", -1),
        ("time", 2**64),
        ("head", b"\x00" * 31),
        ("order_hash", b"\x00" * 33),
    ],
)
def test_fields_out_of_their_type_are_refused(field: str, value: object) -> None:
    fields = dataclasses.asdict(receipt_for()) | {field: value}
    with pytest.raises(InvalidReceiptError):
        Receipt(**fields)


def test_wire_form_round_trips_and_refuses_unknown_members() -> None:
    signed = sign_receipt(receipt_for(), OPERATOR, DOMAIN)
    wire = WireReceipt.of(signed.receipt, signed.signature)

    data = msgspec.json.encode(wire)
    assert set(json.loads(data)) == {"orderHash", "shard", "seq", "head", "time", "signature"}
    back = msgspec.json.decode(data, type=WireReceipt)
    assert back.to_receipt() == signed.receipt
    assert back.to_signature() == signed.signature
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(data[:-1] + b',"extra":1}', type=WireReceipt)
    with pytest.raises(ValueError, match="head"):
        msgspec.structs.replace(back, head="0x12").to_receipt()


def test_store_keeps_every_receipt_once_in_journal_order(tmp_path: Path) -> None:
    store = ReceiptStore(tmp_path / "r")
    assert list(store) == []
    late = sign_receipt(receipt_for(seq=12, order=b"\x03" * 32), OPERATOR, DOMAIN)
    early = sign_receipt(receipt_for(seq=9), OPERATOR, DOMAIN)
    other_shard = sign_receipt(receipt_for(seq=2, order=b"\x05" * 32, shard=1), OPERATOR, DOMAIN)
    assert store.add(late) == store.add(late)  # the same receipt twice: one file
    store.add(other_shard)
    store.add(early)
    assert list(store) == [early, late, other_shard]  # shard by shard, seq by seq
    assert [p.name[:5] for p in store.paths()] == ["00000", "00000", "00001"]
    assert store.for_order(OrderHash(b"\x03" * 32)) == [late]
    assert store.for_order(OrderHash(b"\x04" * 32)) == []


def test_store_keeps_both_of_two_contradicting_receipts(tmp_path: Path) -> None:
    store = ReceiptStore(tmp_path)
    first = sign_receipt(receipt_for(head=b"\xaa" * 32), OPERATOR, DOMAIN)
    second = sign_receipt(receipt_for(head=b"\xbb" * 32), OPERATOR, DOMAIN)
    moved = sign_receipt(receipt_for(head=b"\xaa" * 32, shard=3), OPERATOR, DOMAIN)
    for signed in (first, second, moved):
        store.add(signed)
    assert sorted(store, key=lambda s: (s.receipt.shard, s.receipt.head)) == [first, second, moved]
    assert len(store.for_order(first.receipt.order_hash)) == 3


def test_a_stored_receipt_is_evidence_on_its_own(tmp_path: Path) -> None:
    signed = sign_receipt(receipt_for(), OPERATOR, DOMAIN)
    path = ReceiptStore(tmp_path).add(signed)
    record = json.loads(path.read_text())
    assert record["chainId"] == 31337
    assert record["verifyingContract"] == CHECKPOINTS
    assert record["signer"] == OPERATOR.address
    assert load(path) == signed


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r["receipt"].update(head="0x" + "bb" * 32),  # signer no longer recovers
        lambda r: r.update(signer=OUTSIDER.address),
        lambda r: r.update(verifyingContract=CHECKPOINTS.lower()),  # not checksummed
        lambda r: r["receipt"].update(seq=0),
        lambda r: r["receipt"].update(shard=1),  # signed for shard 0
        lambda r: r.update(extra=1),
    ],
)
def test_a_tampered_receipt_file_is_corrupt(tmp_path: Path, tamper: object) -> None:
    path = ReceiptStore(tmp_path).add(sign_receipt(receipt_for(), OPERATOR, DOMAIN))
    record = json.loads(path.read_text())
    tamper(record)  # type: ignore[operator]
    path.write_text(json.dumps(record))
    with pytest.raises(CorruptReceiptError):
        list(ReceiptStore(tmp_path))


def test_an_array_file_of_receipts_is_read_with_the_others(tmp_path: Path) -> None:
    """The web app's download (and `perpdex receipts --json`): one JSON array of receipt
    files, under any name, read beside the store's own files, each receipt once."""
    kept = sign_receipt(receipt_for(seq=9), OPERATOR, DOMAIN)
    first = sign_receipt(receipt_for(seq=3, order=b"\x03" * 32), OPERATOR, DOMAIN)
    last = sign_receipt(receipt_for(seq=12, order=b"\x04" * 32), OPERATOR, DOMAIN)
    store = ReceiptStore(tmp_path)
    store.add(kept)
    array = tmp_path / "receipts-31337-downloaded.json"
    array.write_bytes(msgspec.json.encode([stored(r) for r in (last, kept, first)]))
    assert load_all(array) == [last, kept, first]
    assert list(store) == [first, kept, last]  # seq order; ``kept`` in both files counts once
    assert store.for_order(OrderHash(b"\x04" * 32)) == [last]
    assert load_all(store.paths()[0]) == [kept]  # a single receipt's file too


def test_one_tampered_receipt_of_an_array_file_makes_it_corrupt(tmp_path: Path) -> None:
    signed = [sign_receipt(receipt_for(seq=s), OPERATOR, DOMAIN) for s in (1, 2)]
    records = json.loads(msgspec.json.encode([stored(r) for r in signed]))
    records[1]["receipt"]["seq"] = 3  # the signer no longer recovers
    array = tmp_path / "receipts.json"
    array.write_text(json.dumps(records))
    with pytest.raises(CorruptReceiptError, match=r"receipts\.json"):
        list(ReceiptStore(tmp_path))


def test_trader_directory_is_per_deployment_and_trader(tmp_path: Path) -> None:
    directory = trader_directory(tmp_path, 31337, CHECKPOINTS, OPERATOR.address)
    assert directory == tmp_path / "receipts" / f"31337-{CHECKPOINTS}-{OPERATOR.address}"
