"""What became of each fill the batcher was given, and of each transaction it sent.

Every fill ends in exactly one :data:`FillOutcome`: :class:`Settled` (with the transaction
and block that settled it) or :class:`Rejected` (with the reason). The reason codes of the
contract's ``FillRejected`` event are read from the deployed contract's public constants,
never retyped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

from web3.contract import Contract

from perpdex.core.types import Address, OrderHash
from perpdex.settlement.encoding import Match

TxHash = NewType("TxHash", str)
"""A 0x-prefixed transaction hash."""

FillKey = tuple[OrderHash, OrderHash]
"""(maker hash, taker hash): names a fill, since two orders match each other at most once
(every match exhausts one of them)."""

_CONTRACT_PREFIX = "REJECT_"


class RejectReason(StrEnum):
    """Why a fill did not settle: the contract's ``REJECT_*`` codes by name, plus the
    batcher's own reasons (a test checks the contract's names are all here)."""

    BAD_INDEX = "BAD_INDEX"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    MARKET = "MARKET"
    SAME_SIDE = "SAME_SIDE"
    PRICE_LIMIT = "PRICE_LIMIT"
    OFF_GRID = "OFF_GRID"
    EXPIRED = "EXPIRED"
    TIME_IN_FORCE = "TIME_IN_FORCE"
    FEE_ABOVE_MAX = "FEE_ABOVE_MAX"
    ORDER_CLOSED = "ORDER_CLOSED"
    OVERFILL = "OVERFILL"
    REDUCE_ONLY = "REDUCE_ONLY"
    MARGIN_MODE = "MARGIN_MODE"
    SELF_TRADE = "SELF_TRADE"
    ISOLATED_DEFICIT = "ISOLATED_DEFICIT"
    """An isolated position of the trader closed below zero earlier in the batch; the
    batch reverts on it (``MarginCheckFailed``), so this is seen only in simulation."""
    OUT_OF_RANGE = "OUT_OF_RANGE"
    """The fill (2**62 size units, 2**92 of notional) or the position it would make is too
    large for the contract's storage fields."""
    FILL_OR_KILL = "FILL_OR_KILL"
    """The first fill of a fill-or-kill order whose fills in the batch do not add up to
    its whole size (an FOK settles whole in one batch or not at all)."""
    TRIGGER_NOT_REACHED = "TRIGGER_NOT_REACHED"
    """A trigger order (stop-loss, take-profit) of the fill whose market price, when the batch
    landed, was not on the signed side of its trigger price (the price crossed back after the
    engine released the order, or the operator tried to fire it early)."""
    MARGIN_CHECK_FAILED = "MARGIN_CHECK_FAILED"
    """Batcher: the batch's simulation reverted with ``MarginCheckFailed`` naming a trader
    of this fill, so the fill was left out."""
    REVERTS_BATCH = "REVERTS_BATCH"
    """Batcher: a simulation of the batch up to this fill reverted with an error other than
    ``MarginCheckFailed`` (a plain revert, an unknown custom error, a panic), and the same
    batch without it did not, so the fill was left out; the error is the outcome's ``cause``."""
    OVER_GAS_CAP = "OVER_GAS_CAP"
    """Batcher: the fill alone needs more gas than a transaction may use."""
    REVERTED = "REVERTED"
    """Batcher: the fill, alone in its batch, kept reverting when mined although its
    simulation passed."""
    FAILS_ALONE = "FAILS_ALONE"
    """Runner: settlement rounds with this fill kept failing with an error that is not a
    revert (a payload the contract's ABI refuses, a batcher bug on one fill), and settling
    it alone failed too while the node answered; the error is the outcome's ``cause``."""


def contract_reject_codes(exchange: Contract) -> Mapping[int, RejectReason]:
    """``FillRejected.reason`` code -> name, read from the contract's ``REJECT_*`` getters
    (a name missing from :class:`RejectReason` raises ValueError)."""
    names = [
        entry["name"]
        for entry in exchange.abi
        if entry["type"] == "function" and entry["name"].startswith(_CONTRACT_PREFIX)
    ]
    return {
        int(exchange.functions[name]().call()): RejectReason(name.removeprefix(_CONTRACT_PREFIX))
        for name in names
    }


def fill_key(match: Match) -> FillKey:
    return (match.maker.order_hash, match.taker.order_hash)


@dataclass(frozen=True, slots=True)
class Settled:
    """The fill is on chain. ``earlier`` is True when a previous run settled it (found by its
    ``Filled`` event after the contract refused the replay), not the transaction sent now."""

    match: Match
    tx_hash: TxHash
    block: int
    earlier: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """The fill did not settle and will not be retried. ``account`` is the trader the margin
    check named (MARGIN_CHECK_FAILED only); ``tx_hash`` the transaction that skipped it, if
    the contract did; ``cause`` the error the batcher met (its own reasons only)."""

    match: Match
    reason: RejectReason
    account: Address | None = None
    tx_hash: TxHash | None = None
    cause: str | None = None


FillOutcome = Settled | Rejected


@dataclass(frozen=True, slots=True)
class SettleTransaction:
    """One mined ``settle`` transaction: how many fills it carried and what they cost."""

    tx_hash: TxHash
    block: int
    nonce: int
    gas_used: int
    fills: int
    settled: int
    attempts: int
    """Signed transactions sent for its nonce (more than one: a timed-out one was replaced)."""


@dataclass(frozen=True, slots=True)
class SettlementReport:
    """The outcome of each fill, in the order given (duplicates once), and the transactions."""

    outcomes: tuple[FillOutcome, ...]
    transactions: tuple[SettleTransaction, ...]

    @property
    def settled(self) -> tuple[Settled, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, Settled))

    @property
    def rejected(self) -> tuple[Rejected, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, Rejected))
