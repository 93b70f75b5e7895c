"""Traders' receipts against the published journal.

A receipt is the operator's signed word that order ``order_hash`` is entry ``seq`` of engine
shard ``shard``'s journal, stamped ``time``, and that the chain head after it is ``head``.
Every field follows from that journal, so a receipt that disagrees with the published one
proves the operator changed its log after acknowledging the order: an order left out
(omission), or moved (reordering), or the log rewritten before it. Only receipts of the
audited shard, signed by a key that was the Checkpoints operator, in this deployment's
receipt domain, are evidence; others are set aside and said so.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perpdex.audit.findings import Check, Discrepancy
from perpdex.audit.names import OrderNames
from perpdex.core.eip712 import Eip712Domain
from perpdex.core.signing import address_bytes
from perpdex.core.types import EMBEDDED_SHARD, Address, ShardId
from perpdex.engine.commands import Amend, Command, NewOrder
from perpdex.engine.journal import ChainHead
from perpdex.receipts import CorruptReceiptError, SignedReceipt
from perpdex.receipts.store import SUFFIX, load_all, stored


@dataclass(frozen=True, slots=True)
class HeldReceipt:
    path: Path
    signed: SignedReceipt


def read_receipts(directory: Path) -> tuple[list[HeldReceipt], list[str]]:
    """Every receipt under ``directory`` (one trader's, or many traders' folders; a file
    may hold an array of them, as the web app downloads), and why each unreadable file
    was set aside."""
    held: list[HeldReceipt] = []
    set_aside: list[str] = []
    for path in sorted(directory.rglob(f"*{SUFFIX}")):
        try:
            held.extend(HeldReceipt(path, signed) for signed in load_all(path))
        except CorruptReceiptError as error:
            set_aside.append(f"receipt {error}")
    return held, set_aside


@dataclass
class ReceiptCheck:
    receipts: list[HeldReceipt]
    domain: Eip712Domain
    """This deployment's receipt domain (chain id, Checkpoints contract)."""
    operators: Collection[Address]
    """Every key that was the Checkpoints operator."""
    names: OrderNames
    shard: ShardId = EMBEDDED_SHARD
    """The shard whose journal is audited: another shard's receipts name another journal."""
    found: list[Discrepancy] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    checked: int = 0
    _at: dict[int, tuple[bytes, int, list[str]]] = field(default_factory=dict)
    """seq -> (head, time, order hashes of the entry), for the seqs receipts name."""
    _seen: dict[str, list[int]] = field(default_factory=dict)
    """order hash -> the seqs whose entry carries it, for the orders receipts name."""

    def __post_init__(self) -> None:
        operators = {address_bytes(a) for a in self.operators}
        evidence = []
        for held in self.receipts:
            signed = held.signed
            if signed.domain.separator != self.domain.separator:
                self.set_aside.append(f"receipt {held.path}: signed for another deployment")
            elif signed.receipt.shard != self.shard:
                self.set_aside.append(
                    f"receipt {held.path}: of shard {signed.receipt.shard}, not the audited"
                    f" shard {self.shard}"
                )
            elif address_bytes(signed.signer) not in operators:
                self.set_aside.append(
                    f"receipt {held.path}: signed by {signed.signer}, never the operator"
                )
            else:
                evidence.append(held)
        self.receipts = evidence
        self._seqs = {h.signed.receipt.seq for h in evidence}
        self._orders = {"0x" + h.signed.receipt.order_hash.hex() for h in evidence}

    @property
    def highest_seq(self) -> int:
        return max(self._seqs, default=0)

    def see(self, seq: int, time: int, head: bytes, command: Command) -> None:
        if not self.receipts:
            return
        carried = self._orders_of(command)
        for order_hash in carried:
            self._seen.setdefault(order_hash, []).append(seq)
        if seq in self._seqs:
            self._at[seq] = (head, time, carried)

    def end(self, anchor: ChainHead, last: ChainHead) -> None:
        for held in self.receipts:
            receipt = held.signed.receipt
            if receipt.seq <= anchor.seq:
                self.set_aside.append(f"receipt {held.path}: before --from-seq's anchor")
                continue
            self.checked += 1
            detail = self._contradiction(held, last)
            if detail is not None:
                self.found.append(
                    Discrepancy(
                        Check.RECEIPT,
                        receipt.seq,
                        detail,
                        "0x" + receipt.order_hash.hex(),
                        _evidence(held),
                    )
                )

    def _contradiction(self, held: HeldReceipt, last: ChainHead) -> str | None:
        receipt = held.signed.receipt
        order_hash = "0x" + receipt.order_hash.hex()
        elsewhere = [s for s in self._seen.get(order_hash, []) if s != receipt.seq]
        moved = f"; the journal has the order at seq {elsewhere[0]}" if elsewhere else ""
        if receipt.seq > last.seq:
            what = "reordered" if elsewhere else "omitted"
            return (
                f"the operator's receipt puts the order at seq {receipt.seq}, but the published"
                f" journal ends at seq {last.seq}{moved}: proof the order was {what}"
            )
        head, time, carried = self._at[receipt.seq]
        if head != receipt.head:
            here = order_hash in carried
            what = "reordered" if elsewhere else "rewritten before it" if here else "omitted"
            return (
                f"the journal's head after seq {receipt.seq} is 0x{head.hex()}, the operator's"
                f" receipt says 0x{receipt.head.hex()}{moved}: proof the log was changed after"
                f" the order was acknowledged ({what})"
            )
        if order_hash not in carried:
            return f"the entry at seq {receipt.seq} does not carry the order the receipt names"
        if time != receipt.time:
            return f"the entry at seq {receipt.seq} is stamped {time}, the receipt {receipt.time}"
        return None

    def _orders_of(self, command: Command) -> list[str]:
        if isinstance(command, NewOrder | Amend) and command.payload:
            order_hash = self.names.hash_of(command.payload)
            if order_hash is not None and order_hash in self._orders:
                return [order_hash]
        return []


def _evidence(held: HeldReceipt) -> dict[str, Any]:
    record = stored(held.signed)
    return {
        "file": str(held.path),
        "signer": record.signer,
        "orderHash": record.receipt.order_hash,
        "shard": record.receipt.shard,
        "seq": record.receipt.seq,
        "head": record.receipt.head,
        "time": record.receipt.time,
        "signature": record.receipt.signature,
    }


def operators_of(events: Iterable[Any]) -> list[Address]:
    """The keys named by the Checkpoints contract's ``OperatorChanged`` events."""
    return [Address(event["args"]["operator"]) for event in events]
