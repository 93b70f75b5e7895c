"""The trader's receipts: each one checked as it arrives, then kept in a directory.

For every order it acknowledges, the gateway sends the operator's signed receipt
(``perpdex.receipts``) after the ack. :class:`TraderReceipts` checks each one against the
Checkpoints contract's operator and against the ack (same order, same seq), and stores it
in the trader's :class:`~perpdex.receipts.ReceiptStore` (by default beside the nonce file:
``$STATE_DIR/receipts/<chain>-<checkpoints>-<trader>/``), the directory ``perpdex receipts``
shows and ``perpdex audit --receipts`` checks against the journal. A receipt that fails a
check is not stored: it is a :class:`BadReceiptError`, logged as a warning and listed in
:attr:`TraderReceipts.bad`, since it is evidence that the gateway misbehaved. The one
exception is a second, different receipt of an order that the operator did sign: it is
kept beside the first, since the two together are the evidence.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from pathlib import Path

from perpdex.core.eip712 import Eip712Domain
from perpdex.core.signing import Signature
from perpdex.core.types import Address, OrderHash
from perpdex.gateway.protocol import ReceiptIssued
from perpdex.receipts import (
    Receipt,
    ReceiptSignatureError,
    ReceiptStore,
    SignedReceipt,
    verify_receipt,
)
from perpdex.sdk.errors import SdkError

log = logging.getLogger(__name__)

MAX_AWAITED = 10_000
"""Acknowledged orders whose receipt is awaited, at most (the oldest are forgotten)."""


class BadReceiptError(SdkError):
    """A receipt from the gateway failed a check (signer, order, seq, form): not stored."""

    def __init__(self, reason: str, order_hash: OrderHash | None = None) -> None:
        name = "" if order_hash is None else f" of order 0x{order_hash.hex()}"
        super().__init__(f"bad receipt{name}: {reason}")
        self.reason = reason
        self.order_hash = order_hash


class MissingReceiptError(SdkError):
    """The gateway acknowledged an order but sent no receipt for it in time."""


class TraderReceipts:
    """``domain``: the Checkpoints contract's; ``store``: where good receipts go (None:
    kept in memory only). Set :attr:`operator` (from the chain) before receipts arrive."""

    def __init__(self, domain: Eip712Domain, store: ReceiptStore | None) -> None:
        self.domain = domain
        self.store = store
        self.operator: Address | None = None
        self.received: dict[OrderHash, SignedReceipt] = {}
        self.bad: list[BadReceiptError] = []
        self._awaited: OrderedDict[OrderHash, int] = OrderedDict()
        self._arrived = asyncio.Event()

    @property
    def directory(self) -> Path | None:
        return None if self.store is None else self.store.directory

    def acked(self, order_hash: OrderHash, seq: int) -> None:
        """The gateway acknowledged ``order_hash`` at ``seq``: its receipt must follow."""
        if order_hash not in self.received:
            self._awaited[order_hash] = seq
            while len(self._awaited) > MAX_AWAITED:
                self._awaited.popitem(last=False)

    def awaited(self) -> dict[OrderHash, int]:
        """Acknowledged orders (with their seq) whose receipt has not arrived."""
        return dict(self._awaited)

    def on_frame(self, frame: ReceiptIssued) -> SignedReceipt | BadReceiptError:
        """Check the receipt and keep it; a bad one is logged and listed, and not stored,
        except a second, different receipt of an order signed by the operator: it is kept
        beside the first, the pair being evidence of a lie."""
        try:
            signed = self._checked(frame)
        except BadReceiptError as error:
            log.warning("%s", error)
            self.bad.append(error)
            self._arrived.set()
            return error
        self.received[signed.receipt.order_hash] = signed
        if self.store is not None:
            self.store.add(signed)
        self._arrived.set()
        return signed

    async def wait(self, order_hash: OrderHash, timeout: float) -> SignedReceipt:
        """The receipt of ``order_hash`` once it arrived: :class:`BadReceiptError` if it
        failed a check, :class:`MissingReceiptError` if none came within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if order_hash in self.received:
                        return self.received[order_hash]
                    for error in self.bad:
                        if error.order_hash == order_hash:
                            raise error
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise MissingReceiptError(
                f"no receipt of order 0x{order_hash.hex()} within {timeout} s"
            ) from None

    async def drain(self, timeout: float) -> None:
        """Wait, at most ``timeout``, until every awaited receipt arrived (or proved bad)."""
        try:
            async with asyncio.timeout(timeout):
                while self._awaited:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            log.warning("%d acknowledged orders without a receipt", len(self._awaited))

    def _checked(self, frame: ReceiptIssued) -> SignedReceipt:
        try:
            receipt = frame.receipt.to_receipt()
            signature = frame.receipt.to_signature()
        except ValueError as error:
            raise BadReceiptError(f"malformed: {error}") from None
        order_hash = receipt.order_hash
        known = self.received.get(order_hash)
        if known is not None:
            return self._again(known, receipt, signature)
        acked = self._awaited.pop(order_hash, None)
        if acked is None:
            raise BadReceiptError("no acknowledged order of this client has this hash", order_hash)
        if acked != receipt.seq:
            raise BadReceiptError(
                f"seq {receipt.seq}, but the order was acknowledged at seq {acked}", order_hash
            )
        return self._verified(receipt, signature)

    def _verified(self, receipt: Receipt, signature: Signature) -> SignedReceipt:
        if self.operator is None:
            raise BadReceiptError(
                "the operator's key is unknown (no chain read yet)", receipt.order_hash
            )
        try:
            return verify_receipt(receipt, signature, self.domain, self.operator)
        except ReceiptSignatureError as error:
            raise BadReceiptError(str(error), receipt.order_hash) from None

    def _again(self, known: SignedReceipt, receipt: Receipt, signature: Signature) -> SignedReceipt:
        """A second receipt of an order: the same one again (an idempotent retry's ack
        brings it) is the one kept; a different one the operator signed is kept as
        evidence beside the first and reported."""
        if (receipt, signature) == (known.receipt, known.signature):
            return known
        signed = self._verified(receipt, signature)
        if self.store is not None:
            self.store.add(signed)
        raise BadReceiptError(
            f"a second receipt (shard {receipt.shard} seq {receipt.seq}) differs from the"
            f" first (shard {known.receipt.shard} seq {known.receipt.seq}); both are kept as"
            " evidence",
            receipt.order_hash,
        )
