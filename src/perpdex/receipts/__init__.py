"""Operator-signed receipts: the operator's word on where each order sits in the journal.

Every order the gateway acknowledges comes with a :class:`~perpdex.core.eip712.Receipt`
``(orderHash, shard, seq, head, time)`` signed by the key that posts checkpoints, in the
Checkpoints contract's EIP-712 domain (docs/checkpoints.md, "Receipts"); ``shard`` names the
engine shard whose journal holds the order (0 for the embedded node). A trader keeps them
in a :class:`ReceiptStore`; checked against the published journal they prove an omission
or a reordering, and two receipts for one shard and seq with different heads (or one that
contradicts a posted checkpoint of its shard) prove equivocation on-chain.

Public API::

    domain = receipt_domain(chain_id, checkpoints_address)
    signed = sign_receipt(Receipt(order_hash, shard, seq, head, time), operator_key, domain)
    signed = verify_receipt(receipt, signature, domain, operator)    # or ReceiptSignatureError
    wire = WireReceipt.of(signed.receipt, signed.signature)           # JSON form (acks, files)
    ReceiptStore(directory).add(signed); list(ReceiptStore(directory))
"""

from perpdex.core.eip712 import RECEIPT_TYPE, InvalidReceiptError, Receipt
from perpdex.receipts.signed import (
    ReceiptSignatureError,
    SignedReceipt,
    receipt_domain,
    recover_receipt,
    sign_receipt,
    verify_receipt,
)
from perpdex.receipts.store import (
    CorruptReceiptError,
    ReceiptStore,
    StoredReceipt,
    load,
    load_all,
    stored,
    trader_directory,
)
from perpdex.receipts.wire import WireReceipt

__all__ = [
    "RECEIPT_TYPE",
    "CorruptReceiptError",
    "InvalidReceiptError",
    "Receipt",
    "ReceiptSignatureError",
    "ReceiptStore",
    "SignedReceipt",
    "StoredReceipt",
    "WireReceipt",
    "load",
    "load_all",
    "receipt_domain",
    "recover_receipt",
    "sign_receipt",
    "stored",
    "trader_directory",
    "verify_receipt",
]
