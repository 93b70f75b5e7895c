"""Receipts for the Checkpoints contract's titanoboa tests: keys, signing, the ABI form.

Receipts are signed by ``perpdex.receipts`` (the gateway's code) in the deployed
contract's domain, so these tests also check that Python and Vyper agree on it.
"""

from __future__ import annotations

from typing import Any

import boa
from boa.contracts.vyper.vyper_contract import VyperContract

from perpdex.core.eip712 import ChainHeadHash, Eip712Domain, JournalSeq, Receipt, UnixMillis
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import Address, OrderHash, ShardId
from perpdex.receipts import SignedReceipt, receipt_domain, sign_receipt

OPERATOR_KEY = SigningKey(keccak256(b"perpdex test actor operator"))
OUTSIDER_KEY = SigningKey(keccak256(b"perpdex test actor outsider"))

SignedReceiptArg = tuple[bytes, int, int, bytes, int, int, int, int]
"""The contract's ``SignedReceipt`` struct: (order_hash, shard, seq, head, time, v, r, s)."""


def domain_of(checkpoints: VyperContract) -> Eip712Domain:
    return receipt_domain(boa.env.evm.patch.chain_id, Address(checkpoints.address))


def order_hash(n: int) -> OrderHash:
    return OrderHash(keccak256(b"order %d" % n))


def signed(
    checkpoints: VyperContract,
    shard: int,
    seq: int,
    head: bytes,
    *,
    key: SigningKey = OPERATOR_KEY,
    order: int = 1,
    time: int = 1_700_000_000_000,
) -> SignedReceipt:
    receipt = Receipt(
        order_hash(order), ShardId(shard), JournalSeq(seq), ChainHeadHash(head), UnixMillis(time)
    )
    return sign_receipt(receipt, key, domain_of(checkpoints))


def arg(receipt: SignedReceipt) -> SignedReceiptArg:
    return receipt.contract_arg()


def with_signature(receipt: SignedReceipt, v: int, r: int, s: int) -> SignedReceiptArg:
    """``receipt`` with another signature (one the Python ``Signature`` type would refuse)."""
    return (*arg(receipt)[:5], v, r, s)


NO_FAULT = (0, 0, bytes(32), bytes(32), 0, 0)


def fault_events(checkpoints: VyperContract) -> list[Any]:
    """The ``FaultProven`` events of the last call:
    (shard, seq, head, other_head, checkpoint, prover)."""
    return [
        (log.shard, log.seq, log.head, log.other_head, log.checkpoint, log.prover)
        for log in checkpoints.get_logs()
        if type(log).__name__ == "FaultProven"
    ]
