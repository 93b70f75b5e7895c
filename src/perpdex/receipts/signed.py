"""Signing, recovering and verifying receipts in the Checkpoints contract's EIP-712 domain.

The operator (the key that posts checkpoints) signs; a trader verifies against the
operator it reads from the Checkpoints contract. The domain's ``verifyingContract`` is the
Checkpoints contract, so a receipt is bound to the checkpoints it can be checked against
and cannot pass for a signature of any other contract.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.eip712 import ChainId, Eip712Domain, Receipt
from perpdex.core.signing import (
    Digest,
    InvalidSignatureError,
    Signature,
    SigningKey,
    address_bytes,
    recover_address,
)
from perpdex.core.types import Address


class ReceiptSignatureError(InvalidSignatureError):
    """A receipt is not signed by the operator it is checked against."""

    def __init__(self, receipt: Receipt, operator: Address, signer: Address | None) -> None:
        by = "no key" if signer is None else signer
        super().__init__(
            f"receipt of order 0x{receipt.order_hash.hex()} at shard {receipt.shard} seq"
            f" {receipt.seq} is signed by"
            f" {by}, not by the operator {operator}"
        )
        self.receipt = receipt
        self.operator = operator
        self.signer = signer


def receipt_domain(chain_id: int, checkpoints: Address) -> Eip712Domain:
    """The domain receipts are signed in: the Checkpoints contract at ``checkpoints``."""
    return Eip712Domain(ChainId(chain_id), checkpoints)


@dataclass(frozen=True, slots=True)
class SignedReceipt:
    """A receipt, its signature, the domain it was signed in and the recovered signer."""

    receipt: Receipt
    signature: Signature
    domain: Eip712Domain
    signer: Address

    @property
    def digest(self) -> Digest:
        return self.domain.digest(self.receipt)

    def contract_arg(self) -> tuple[bytes, int, int, bytes, int, int, int, int]:
        """The Checkpoints contract's ``SignedReceipt`` struct, for ``prove_equivocation``
        and ``prove_contradiction``: ``(orderHash, shard, seq, head, time, v, r, s)``."""
        receipt, signature = self.receipt, self.signature
        return (
            receipt.order_hash,
            receipt.shard,
            receipt.seq,
            receipt.head,
            receipt.time,
            signature.v,
            signature.r,
            signature.s,
        )


def sign_receipt(receipt: Receipt, key: SigningKey, domain: Eip712Domain) -> SignedReceipt:
    """The operator's signature (RFC 6979, low-s) over ``receipt``."""
    return SignedReceipt(receipt, key.sign_digest(domain.digest(receipt)), domain, key.address)


def recover_receipt(receipt: Receipt, signature: Signature, domain: Eip712Domain) -> SignedReceipt:
    """``receipt`` with whoever signed it (no operator check: see :func:`verify_receipt`).
    Raises :class:`InvalidSignatureError` if no key recovers from ``signature``."""
    return SignedReceipt(
        receipt, signature, domain, recover_address(domain.digest(receipt), signature)
    )


def verify_receipt(
    receipt: Receipt, signature: Signature, domain: Eip712Domain, operator: Address
) -> SignedReceipt:
    """``receipt`` signed by ``operator``; raises :class:`ReceiptSignatureError` otherwise."""
    try:
        signed = recover_receipt(receipt, signature, domain)
    except InvalidSignatureError:
        raise ReceiptSignatureError(receipt, operator, None) from None
    if address_bytes(signed.signer) != address_bytes(operator):
        raise ReceiptSignatureError(receipt, operator, signed.signer)
    return signed
