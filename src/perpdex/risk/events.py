"""Typed chain events the position manager folds, decoded from the Exchange's and the
Markets registry's logs by :mod:`perpdex.risk.indexer`.

Each carries ``at``, its position in the chain's log order, which makes the fold
idempotent: an event at or before the last one folded is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.margin import MarginPpm, PositionState
from perpdex.core.types import Address, Collateral, MarginMode, MarketId, OrderHash, Side


@dataclass(frozen=True, slots=True, order=True)
class LogPosition:
    """Where a log sits in the chain: block number, then index within the block."""

    block: int
    index: int


@dataclass(frozen=True, slots=True)
class Deposited:
    at: LogPosition
    trader: Address
    amount: Collateral


@dataclass(frozen=True, slots=True)
class WithdrawalRequested:
    """From now on the pre-trade check counts ``amount`` as gone (it replaces any earlier
    request)."""

    at: LogPosition
    trader: Address
    amount: Collateral


@dataclass(frozen=True, slots=True)
class WithdrawalCancelled:
    at: LogPosition
    trader: Address


@dataclass(frozen=True, slots=True)
class Withdrawn:
    at: LogPosition
    trader: Address
    amount: Collateral


@dataclass(frozen=True, slots=True)
class IsolatedMarginMoved:
    """``add_isolated_margin`` / ``remove_isolated_margin`` (> 0: into the position). The
    moves a fill makes itself are left out by the indexer: the fill's model makes them."""

    at: LogPosition
    trader: Address
    market: MarketId
    amount: int


@dataclass(frozen=True, slots=True)
class FundingSettled:
    """Funding added to a position's quote leg, which now snapshots ``index``."""

    at: LogPosition
    trader: Address
    market: MarketId
    amount: int
    index: int


@dataclass(frozen=True, slots=True)
class FillSide:
    """One side of a settled fill, with the terms of its signed order the event lacks."""

    trader: Address
    order_hash: OrderHash
    side: Side
    mode: MarginMode
    fee: Collateral


@dataclass(frozen=True, slots=True)
class ChainFill:
    """A ``Filled`` event. A side is None when that trader is resynced in the same block
    (:class:`AccountSynced` already holds the fill's effect)."""

    at: LogPosition
    market: MarketId
    price: int
    size: int
    maker: FillSide | None
    taker: FillSide | None
    maker_hash: OrderHash
    taker_hash: OrderHash


@dataclass(frozen=True, slots=True)
class SyncedPosition:
    market: MarketId
    position: PositionState
    funding: int
    """The funding index the position settled up to (``Exchange.funding_owed``)."""


@dataclass(frozen=True, slots=True)
class AccountSynced:
    """A trader's whole account read from the views at the end of ``at.block``.

    Liquidation, deleveraging and insurance draws are not modelled here: the indexer reads
    the accounts they touch instead, and drops those traders' other balance events of the
    same block (the views include them).
    """

    at: LogPosition
    trader: Address
    collateral: Collateral
    positions: tuple[SyncedPosition, ...]


@dataclass(frozen=True, slots=True)
class MarketParamsSet:
    """``MarketParamsChanged`` (emitted at listing too)."""

    at: LogPosition
    market: MarketId
    initial_margin_ppm: MarginPpm
    maintenance_margin_ppm: MarginPpm
    maker_fee_ppm: int
    taker_fee_ppm: int


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """``cancel_order`` (``order_hash`` set) or one nonce of ``cancel_orders`` (zero hash)."""

    at: LogPosition
    trader: Address
    nonce: int
    order_hash: OrderHash


@dataclass(frozen=True, slots=True)
class NonceFloorRaised:
    """Every order of ``trader`` with a nonce below ``floor`` is closed."""

    at: LogPosition
    trader: Address
    floor: int


@dataclass(frozen=True, slots=True)
class FeesQueued:
    """``ParamsQueued``: the fees a market will charge from ``effective_at`` (chain time, s)
    once someone applies the change; ``None`` fees: ``ParamsCancelled``, nothing queued."""

    at: LogPosition
    market: MarketId
    fees: QueuedFees | None


@dataclass(frozen=True, slots=True)
class QueuedFees:
    maker_fee_ppm: int
    taker_fee_ppm: int
    effective_at: int


@dataclass(frozen=True, slots=True)
class FundingPosted:
    at: LogPosition
    market: MarketId
    index: int


ChainEvent = (
    Deposited
    | WithdrawalRequested
    | WithdrawalCancelled
    | Withdrawn
    | IsolatedMarginMoved
    | FundingSettled
    | ChainFill
    | AccountSynced
    | MarketParamsSet
    | FundingPosted
    | OrderCancelled
    | NonceFloorRaised
    | FeesQueued
)
