"""What an audit finds: a discrepancy names the check, the journal sequence number, the order
hash when one order is at fault, and what differs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Check(StrEnum):
    """The audit's checks, in the order they look at an entry."""

    HASH_CHAIN = "hash chain"
    CHECKPOINT = "checkpoint"
    JOURNAL = "journal"
    """An entry that hashes well but does not decode: the engine could not have run it."""
    SIGNATURE = "signature"
    """An order (or an amend's new terms) that the trader it names did not sign."""
    PRIORITY = "price-time priority"
    SETTLEMENT = "settlement"
    CHAIN_CANCEL = "chain cancel"
    RECEIPT = "receipt"


@dataclass(frozen=True, slots=True)
class Discrepancy:
    check: Check
    seq: int | None
    """The journal entry at fault; None when none is (a fill the journal never matched)."""
    detail: str
    order_hash: str | None = None
    """0x-hex of the order at fault, when there is one."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """What proves it, as published (a receipt, a transaction hash)."""

    def describe(self) -> str:
        where = "no journal entry" if self.seq is None else f"seq {self.seq}"
        order = "" if self.order_hash is None else f", order {self.order_hash}"
        return f"{self.check}: {where}{order}: {self.detail}"


def first_of(found: list[Discrepancy]) -> Discrepancy | None:
    """The discrepancy to name first: the earliest in the journal, then the one no entry
    holds (it cannot be placed), each check's order breaking ties."""
    order = list(Check)
    return min(
        found,
        key=lambda d: (d.seq is None, d.seq or 0, order.index(d.check)),
        default=None,
    )
