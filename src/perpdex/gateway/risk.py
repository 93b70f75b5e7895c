"""The pre-trade risk check the gateway calls, and the account figures it shows traders.

The position manager (``perpdex.risk``) implements :class:`RiskCheck` with the contract's
margin math; the gateway only calls it. :class:`AllowAll` admits everything and knows no
accounts: it must be passed explicitly (tests, benchmarks, a venue without margin).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from perpdex.core.eip712 import SignedOrder
from perpdex.core.types import Address, Collateral, MarketId, Price, Size
from perpdex.gateway.protocol import ErrorCode

SETTLE_MARGIN_S = 30
"""An order leaves the book this long before its signed expiry, and one signed to expire
sooner is refused: a fill must reach a block before the expiry, or the contract skips it
(``REJECT_EXPIRED``). Match to settled takes one to two blocks (docs/performance.md); the
rest is room for a batch the batcher has to resubmit. Both count on the chain's clock
where it runs ahead of the wall clock (:meth:`RiskCheck.chain_ahead`). A parameter change
that takes effect before an order's expiry less this margin binds the order too."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the risk check refuses an order: the ``code`` and ``message`` of its error frame."""

    code: ErrorCode
    message: str


@dataclass(frozen=True, slots=True)
class PositionState:
    market: MarketId
    size: int  # signed size units (positive: long)
    quote: int  # signed collateral units
    isolated_margin: Collateral  # 0 for a cross position


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account as the risk service sees it (chain state plus unsettled fills)."""

    collateral: Collateral
    equity: int  # collateral units, may be negative
    initial_margin: Collateral  # requirement of the open positions
    maintenance_margin: Collateral
    positions: tuple[PositionState, ...]


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """One open position as a trader reads it, from the contract's integers (chain state
    plus unsettled fills). None: unknown now (no price yet; an entry taken over in a
    liquidation; no price makes it liquidatable)."""

    market: MarketId
    size: Size  # signed
    isolated: bool
    isolated_margin: Collateral
    entry_price: Fraction | None  # price units, fees excluded
    fees_paid: Collateral | None
    mark_price: Price | None
    unrealised_pnl: Collateral | None  # (mark - entry) x size, rounded down
    scope_equity: Collateral | None  # of the cross account, or of the isolated position
    scope_maintenance: Collateral | None
    liquidation_price: Price | None
    leverage: Decimal  # the trader's cap in the market (its maximum if none)


@dataclass(frozen=True, slots=True)
class LeverageSetting:
    """A trader's leverage in a market and the market's maximum (``1 / IMR``); ``chosen``
    is False while the trader has set none (the maximum applies)."""

    market: MarketId
    leverage: Decimal
    max_leverage: Decimal
    chosen: bool


class RiskCheck(Protocol):
    """Called by the gateway on its event loop; every method must return quickly."""

    def check_order(self, order: SignedOrder) -> Refusal | None:
        """None to admit ``order``, or why it is refused: a term the contract would refuse
        at settlement (docs/architecture.md, "Refused before matching"), or margin."""

    def reserve(self, order: SignedOrder, size: Size) -> None:
        """The engine accepted ``size`` of ``order``: it is open until released."""

    def release(self, order: SignedOrder, size: Size) -> None:
        """``size`` of ``order`` is no longer open: it filled, was cancelled, expired or was
        amended away (fills also reach the position manager through the event bus)."""

    def account(self, trader: Address) -> AccountState | None:
        """The trader's positions and margin, if known (sent on the account stream)."""

    def positions(self, trader: Address) -> list[PositionFigures]:
        """The trader's open positions with their prices, PnL and liquidation price (for
        HTTP reads: the liquidation price costs a search per position)."""

    def leverage(self, trader: Address, market: MarketId) -> LeverageSetting | Refusal:
        """The trader's leverage in ``market``, or why there is none to show."""

    def set_leverage(
        self, trader: Address, market: MarketId, leverage: Decimal
    ) -> LeverageSetting | Refusal:
        """Cap the trader's leverage in ``market`` (durably, before returning), or why not
        (above the market's maximum, or the account could not carry its positions and open
        orders at it): then nothing changed."""

    def leverage_refusal(
        self, trader: Address, market: MarketId, leverage: Decimal
    ) -> Refusal | None:
        """Why ``set_leverage`` would refuse the cap now, None if it would take it."""

    def chain_ahead(self) -> int:
        """Milliseconds the chain's clock (``block.timestamp``, as last seen) runs ahead of
        the wall clock, 0 if it does not: the contract checks expiries against it."""


ShareLeverage = Callable[[Address, MarketId, Decimal], Awaitable[None]]
"""Cluster mode: make a trader's cap durable where every gateway reads it, and store it in
this gateway's check; raises ``ProtocolError(UNAVAILABLE)`` (nothing changed) when it
cannot (``perpdex.cluster.leverage_board``)."""


class AllowAll:
    """Admits every order; knows no account."""

    def check_order(self, order: SignedOrder) -> Refusal | None:
        return None

    def reserve(self, order: SignedOrder, size: Size) -> None:
        pass

    def release(self, order: SignedOrder, size: Size) -> None:
        pass

    def account(self, trader: Address) -> AccountState | None:
        return None

    def positions(self, trader: Address) -> list[PositionFigures]:
        return []

    def leverage(self, trader: Address, market: MarketId) -> LeverageSetting | Refusal:
        return _NO_MARGIN

    def set_leverage(
        self, trader: Address, market: MarketId, leverage: Decimal
    ) -> LeverageSetting | Refusal:
        return _NO_MARGIN

    def leverage_refusal(
        self, trader: Address, market: MarketId, leverage: Decimal
    ) -> Refusal | None:
        return _NO_MARGIN

    def chain_ahead(self) -> int:
        return 0


_NO_MARGIN = Refusal(ErrorCode.INVALID_LEVERAGE, "this gateway checks no margin: no leverage")
