"""A directory of receipt files: what a trader keeps, and what ``perpdex audit --receipts``
reads.

One JSON file per receipt (:class:`StoredReceipt`), named
``<shard, 5 digits>-<seq, 20 digits>-<order hash>-<first 8 bytes of the receipt's
digest>.json``, so that:

* a listing in name order is in journal order, shard by shard;
* the same receipt stored twice is one file (an idempotent re-ack), but two different
  receipts for one order, or for one shard and seq, are two files: a lying operator's second word
  never overwrites its first, and the pair is the evidence;
* every write is atomic (a temporary file renamed into place), so a crash leaves no
  half-written receipt, and several processes of one trader can share the directory.

Each file carries its domain (chain id, Checkpoints address) and signer, so it is evidence
on its own. A file may also hold a JSON array of such receipts, under any name ending in
``.json``: what the web app's "Download receipts" and ``perpdex receipts --json`` give; the
store reads it with the others (:func:`load_all`) and never writes one. Loading re-checks
the signature: a file whose signer does not recover from it raises
:class:`CorruptReceiptError` rather than passing for evidence.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from perpdex.core.signing import address_bytes
from perpdex.core.types import Address, OrderHash
from perpdex.receipts.signed import SignedReceipt, receipt_domain, recover_receipt
from perpdex.receipts.wire import WireReceipt

SUFFIX = ".json"
_SHARD_DIGITS = 5  # 2**16 has 5 digits
_SEQ_DIGITS = 20  # 2**64 has 20 digits
_DIGEST_BYTES = 8


class StoredReceipt(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    """A receipt file: the receipt with its domain and recovered signer."""

    chain_id: int
    verifying_contract: str
    signer: str
    receipt: WireReceipt


class CorruptReceiptError(ValueError):
    """A receipt file is not a receipt, or its signer does not recover from its signature."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(StoredReceipt).decode
_decode_array = msgspec.json.Decoder(list[StoredReceipt]).decode


def trader_directory(state_dir: Path, chain_id: int, checkpoints: Address, trader: Address) -> Path:
    """Where ``trader``'s receipts from one deployment live (beside its nonce file)."""
    return state_dir / "receipts" / f"{chain_id}-{checkpoints}-{trader}"


def file_name(signed: SignedReceipt) -> str:
    receipt = signed.receipt
    digest = signed.digest[:_DIGEST_BYTES].hex()
    place = f"{receipt.shard:0{_SHARD_DIGITS}d}-{receipt.seq:0{_SEQ_DIGITS}d}"
    return f"{place}-{receipt.order_hash.hex()}-{digest}{SUFFIX}"


def stored(signed: SignedReceipt) -> StoredReceipt:
    domain = signed.domain
    return StoredReceipt(
        chain_id=domain.chain_id,
        verifying_contract=domain.verifying_contract,
        signer=signed.signer,
        receipt=WireReceipt.of(signed.receipt, signed.signature),
    )


def load(path: Path) -> SignedReceipt:
    """The receipt in ``path``, its signature re-checked; raises :class:`CorruptReceiptError`."""
    try:
        record = _decode(path.read_bytes())
    except msgspec.DecodeError as error:
        raise CorruptReceiptError(path, str(error)) from None
    return _checked(path, record)


def load_all(path: Path) -> list[SignedReceipt]:
    """The receipts in ``path``: one receipt, or a JSON array of them, each signature
    re-checked; raises :class:`CorruptReceiptError` (at the first bad one of an array)."""
    try:
        data = path.read_bytes()
        records = _decode_array(data) if data.lstrip()[:1] == b"[" else [_decode(data)]
    except msgspec.DecodeError as error:
        raise CorruptReceiptError(path, str(error)) from None
    return [_checked(path, record) for record in records]


def _checked(path: Path, record: StoredReceipt) -> SignedReceipt:
    try:
        signed = recover_receipt(
            record.receipt.to_receipt(),
            record.receipt.to_signature(),
            receipt_domain(record.chain_id, Address(record.verifying_contract)),
        )
    except ValueError as error:  # signature and domain errors included
        where = f"shard {record.receipt.shard} seq {record.receipt.seq}"
        raise CorruptReceiptError(path, f"{where}: {error}") from None
    if address_bytes(signed.signer) != bytes.fromhex(record.signer.removeprefix("0x")):
        raise CorruptReceiptError(path, f"signed by {signed.signer}, not by {record.signer}")
    return signed


class ReceiptStore:
    """The receipt files of one directory (created on the first :meth:`add`)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def add(self, signed: SignedReceipt) -> Path:
        """Store ``signed`` (a no-op if this very receipt is stored); returns its file."""
        path = self.directory / file_name(signed)
        if path.exists():
            return path
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(_encode(stored(signed)))
        os.replace(temporary, path)
        return path

    def paths(self) -> list[Path]:
        """Every receipt file, in journal order (shard, then seq)."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p for p in self.directory.iterdir() if p.suffix == SUFFIX and not p.name.startswith(".")
        )

    def __iter__(self) -> Iterator[SignedReceipt]:
        """Every receipt (one of each, however many files hold it), in journal order (shard,
        then seq); raises :class:`CorruptReceiptError` at a bad file."""
        unique = {(s.receipt, s.signature): s for p in self.paths() for s in load_all(p)}
        return iter(sorted(unique.values(), key=lambda s: (s.receipt.shard, s.receipt.seq)))

    def for_order(self, order_hash: OrderHash) -> list[SignedReceipt]:
        """The receipts of one order (one, unless the operator gave two), in journal order."""
        return [s for s in self if s.receipt.order_hash == order_hash]
