"""On-chain accounts and positions as a fold over typed chain events.

Fills are applied with the contract's own model (:func:`perpdex.core.margin.apply_fill`);
funding is settled into the quote leg by the ``FundingSettled`` events the contract emits
before it moves a position, and a position snapshots its market's funding index when it
is touched, as ``packing._pack_position`` does. ``apply`` ignores an event at or before
the last one folded, so reading a block range twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perpdex.core import margin
from perpdex.core.margin import FLAT, MarginParams, PositionState
from perpdex.core.types import Address, Collateral, MarketId, Price, Size
from perpdex.risk.entries import Entry, after_fill, kept
from perpdex.risk.events import (
    AccountSynced,
    ChainEvent,
    ChainFill,
    Deposited,
    FeesQueued,
    FillSide,
    FundingPosted,
    FundingSettled,
    IsolatedMarginMoved,
    LogPosition,
    MarketParamsSet,
    NonceFloorRaised,
    OrderCancelled,
    QueuedFees,
    WithdrawalCancelled,
    WithdrawalRequested,
    Withdrawn,
)
from perpdex.risk.nonces import ClosedNonces

_ZERO = Collateral(0)


@dataclass(frozen=True, slots=True)
class MarketState:
    """What margin needs of a market, from the Markets registry's events."""

    params: MarginParams
    maker_fee_ppm: int
    taker_fee_ppm: int
    funding_index: int = 0


@dataclass(slots=True)
class Account:
    collateral: Collateral = _ZERO
    withdrawal: Collateral = _ZERO
    """Requested on chain and not executed: the pre-trade check counts it as gone."""
    positions: dict[MarketId, PositionState] = field(default_factory=dict)
    funding: dict[MarketId, int] = field(default_factory=dict)
    """Per open position: the funding index it settled up to."""
    entries: dict[MarketId, Entry] = field(default_factory=dict)
    """Per open position whose fills were seen: its entry price and fees paid."""

    def copy(self) -> Account:
        return Account(
            self.collateral,
            self.withdrawal,
            dict(self.positions),
            dict(self.funding),
            dict(self.entries),
        )

    def record_fill(
        self, market: MarketId, size: int, delta: int, price: Price, fee: Collateral
    ) -> None:
        """Fold a fill of signed ``delta`` into the entry of the position of ``size``."""
        entry = after_fill(self.entries.get(market), size, delta, price, fee)
        if entry is None:
            self.entries.pop(market, None)
        else:
            self.entries[market] = entry

    def set_position(self, market: MarketId, position: PositionState, funding: int) -> None:
        if position == FLAT:
            self.positions.pop(market, None)
            self.funding.pop(market, None)
            self.entries.pop(market, None)
        else:
            self.positions[market] = position
            # packing._pack_position: a flat position keeps no funding snapshot
            self.funding[market] = funding if position.size != 0 else 0


class Ledger:
    """The fold. ``touched`` collects the traders changed since the caller last cleared it,
    ``closed`` those who closed order nonces on chain (the caller clears it too)."""

    def __init__(self) -> None:
        self.accounts: dict[Address, Account] = {}
        self.markets: dict[MarketId, MarketState] = {}
        self.nonces = ClosedNonces()
        self.queued_fees: dict[MarketId, QueuedFees] = {}
        """Per market, the fees of a parameter change announced and not yet in effect."""
        self.last = LogPosition(-1, -1)
        self.touched: set[Address] = set()
        self.closed: set[Address] = set()

    def account(self, trader: Address) -> Account:
        account = self.accounts.get(trader)
        if account is None:
            account = self.accounts[trader] = Account()
        self.touched.add(trader)
        return account

    def apply(self, event: ChainEvent) -> None:
        if event.at <= self.last:
            return
        self.last = event.at
        match event:
            case Deposited(trader=trader, amount=amount):
                account = self.account(trader)
                account.collateral = Collateral(account.collateral + amount)
            case WithdrawalRequested(trader=trader, amount=amount):
                self.account(trader).withdrawal = amount
            case WithdrawalCancelled(trader=trader):
                self.account(trader).withdrawal = Collateral(0)
            case Withdrawn(trader=trader, amount=amount):
                account = self.account(trader)
                account.collateral = Collateral(account.collateral - amount)
                account.withdrawal = Collateral(0)
            case IsolatedMarginMoved():
                self._move_margin(event)
            case FundingSettled():
                self._settle_funding(event)
            case ChainFill():
                for side in (event.maker, event.taker):
                    if side is not None:
                        self._fill_side(event, side)
            case AccountSynced():
                self._sync(event)
            case MarketParamsSet():
                self.queued_fees.pop(event.market, None)  # applied (or a listing)
                old = self.markets.get(event.market)
                self.markets[event.market] = MarketState(
                    MarginParams(event.initial_margin_ppm, event.maintenance_margin_ppm),
                    event.maker_fee_ppm,
                    event.taker_fee_ppm,
                    0 if old is None else old.funding_index,
                )
            case OrderCancelled(trader=trader, nonce=nonce):
                self.nonces.cancel(trader, nonce)
                self.closed.add(trader)
            case NonceFloorRaised(trader=trader, floor=floor):
                self.nonces.raise_floor(trader, floor)
                self.closed.add(trader)
            case FeesQueued(market=market, fees=None):
                self.queued_fees.pop(market, None)
            case FeesQueued(market=market, fees=fees) if fees is not None:
                self.queued_fees[market] = fees
            case FundingPosted(market=market, index=index):
                state = self.markets[market]
                self.markets[market] = MarketState(
                    state.params, state.maker_fee_ppm, state.taker_fee_ppm, index
                )

    def _move_margin(self, event: IsolatedMarginMoved) -> None:
        account = self.account(event.trader)
        position = account.positions.get(event.market, FLAT)
        moved = PositionState(
            position.size,
            position.quote,
            position.isolated,
            Collateral(position.isolated_margin + event.amount),
        )
        account.collateral = Collateral(account.collateral - event.amount)
        account.set_position(event.market, moved, account.funding.get(event.market, 0))

    def _settle_funding(self, event: FundingSettled) -> None:
        account = self.account(event.trader)
        position = account.positions.get(event.market, FLAT)
        settled = PositionState(
            position.size,
            Collateral(position.quote + event.amount),
            position.isolated,
            position.isolated_margin,
        )
        account.set_position(event.market, settled, event.index)

    def _fill_side(self, fill: ChainFill, side: FillSide) -> None:
        market = self.markets[fill.market]
        account = self.account(side.trader)
        before = account.positions.get(fill.market, FLAT)
        account.record_fill(
            fill.market, before.size, side.side * fill.size, Price(fill.price), side.fee
        )
        position, account.collateral = margin.apply_fill(
            before,
            account.collateral,
            side.side,
            Size(fill.size),
            Price(fill.price),
            side.fee,
            market.params.initial_margin_ppm,
            side.mode,
        )
        account.set_position(fill.market, position, market.funding_index)

    def _sync(self, event: AccountSynced) -> None:
        account = self.account(event.trader)
        account.collateral = event.collateral
        before = {m: p.size for m, p in account.positions.items()}
        entries = dict(account.entries)
        account.positions.clear()
        account.funding.clear()
        account.entries.clear()
        for synced in event.positions:
            market, size = synced.market, synced.position.size
            account.set_position(market, synced.position, synced.funding)
            entry = kept(entries.get(market), before.get(market, 0), size)
            if entry is not None:
                account.entries[market] = entry
