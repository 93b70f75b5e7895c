"""The JSON form of a signed receipt: in the gateway's order acks and in receipt files.

Members are camelCase, hashes and the signature ``0x``-prefixed hex (the signature is
``r || s || v``, as ``eth_signTypedData`` returns it), integers plain JSON numbers, as
everywhere in the protocol (docs/protocol.md).
"""

from __future__ import annotations

import msgspec

from perpdex.core.eip712 import ChainHeadHash, JournalSeq, Receipt, UnixMillis
from perpdex.core.signing import Signature
from perpdex.core.types import OrderHash, ShardId

_HASH_LENGTH = 32
_SIGNATURE_LENGTH = 65


class WireReceipt(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    """``Receipt(orderHash, shard, seq, head, time)`` and the operator's ``signature``."""

    order_hash: str
    shard: int
    seq: int
    head: str
    time: int
    signature: str

    @classmethod
    def of(cls, receipt: Receipt, signature: Signature) -> WireReceipt:
        return cls(
            order_hash=_hex(receipt.order_hash),
            shard=receipt.shard,
            seq=receipt.seq,
            head=_hex(receipt.head),
            time=receipt.time,
            signature=_hex(signature.to_bytes()),
        )

    def to_receipt(self) -> Receipt:
        """Raises ValueError (``InvalidReceiptError`` for a field out of its type's range)."""
        return Receipt(
            order_hash=OrderHash(_unhex(self.order_hash, _HASH_LENGTH, "orderHash")),
            shard=ShardId(self.shard),
            seq=JournalSeq(self.seq),
            head=ChainHeadHash(_unhex(self.head, _HASH_LENGTH, "head")),
            time=UnixMillis(self.time),
        )

    def to_signature(self) -> Signature:
        """Raises ValueError (``InvalidSignatureError`` for a high-s or bad-v signature)."""
        return Signature.from_bytes(_unhex(self.signature, _SIGNATURE_LENGTH, "signature"))


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _unhex(text: str, length: int, what: str) -> bytes:
    if not text.startswith("0x") or len(text) != 2 + 2 * length:
        raise ValueError(f"{what} must be 0x and {2 * length} hex digits")
    return bytes.fromhex(text[2:])
