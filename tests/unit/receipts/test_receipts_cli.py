"""``perpdex receipts --dir DIR``: the table in seq order, ``--order``, ``--json``, and a
tampered file reported as an error rather than shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perpdex.cli.main import main
from perpdex.core.eip712 import ChainHeadHash, JournalSeq, Receipt, UnixMillis
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import EMBEDDED_SHARD, Address, OrderHash
from perpdex.receipts import ReceiptStore, receipt_domain, sign_receipt

OPERATOR = SigningKey(keccak256(b"cli receipts operator"))
DOMAIN = receipt_domain(31337, Address("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"))


def order(n: int) -> OrderHash:
    return OrderHash(keccak256(b"order %d" % n))


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    store = ReceiptStore(tmp_path / "receipts")
    for n, seq in ((1, 20), (2, 7)):
        receipt = Receipt(
            order(n),
            EMBEDDED_SHARD,
            JournalSeq(seq),
            ChainHeadHash(keccak256(b"h%d" % seq)),
            UnixMillis(1_790_000_000_000),
        )
        store.add(sign_receipt(receipt, OPERATOR, DOMAIN))
    return store.directory


def test_the_table_lists_every_receipt_in_journal_order(
    directory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["receipts", "--dir", str(directory)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["shard", "seq", "order", "head"]
    assert [line.split()[:2] for line in lines[1:]] == [["0", "7"], ["0", "20"]]
    assert "2026-09-21T" in lines[1] and OPERATOR.address in lines[1]


def test_one_order_as_json(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["receipts", "--dir", str(directory), "--order", "0x" + order(1).hex(), "--json"]) == 0
    )
    (shown,) = json.loads(capsys.readouterr().out)
    assert (shown["receipt"]["shard"], shown["receipt"]["seq"]) == (0, 20)
    assert shown["signer"] == OPERATOR.address
    assert shown["verifyingContract"] == DOMAIN.verifying_contract


def test_an_order_without_a_receipt(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["receipts", "--dir", str(directory), "--order", "0x" + order(3).hex()]) == 1
    assert "no receipts" in capsys.readouterr().err


def test_a_tampered_file_is_an_error(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = sorted(directory.iterdir())[0]
    record = json.loads(path.read_text())
    record["receipt"]["head"] = "0x" + "00" * 32
    path.write_text(json.dumps(record))
    assert main(["receipts", "--dir", str(directory)]) == 1
    assert "error:" in capsys.readouterr().err
