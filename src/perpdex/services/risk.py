"""The gateway's RiskCheck that always asks the node's current position manager, so the
manager can restart under a running gateway."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from perpdex.core.eip712 import SignedOrder
from perpdex.core.types import Address, MarketId, Size
from perpdex.gateway.risk import AccountState, LeverageSetting, PositionFigures, Refusal
from perpdex.risk.manager import PositionManager


class CurrentRisk:
    def __init__(self, current: Callable[[], PositionManager]) -> None:
        self._current = current

    def check_order(self, order: SignedOrder) -> Refusal | None:
        return self._current().check_order(order)

    def reserve(self, order: SignedOrder, size: Size) -> None:
        self._current().reserve(order, size)

    def release(self, order: SignedOrder, size: Size) -> None:
        self._current().release(order, size)

    def account(self, trader: Address) -> AccountState | None:
        return self._current().account(trader)

    def positions(self, trader: Address) -> list[PositionFigures]:
        return self._current().positions(trader)

    def leverage(self, trader: Address, market: MarketId) -> LeverageSetting | Refusal:
        return self._current().leverage(trader, market)

    def set_leverage(
        self, trader: Address, market: MarketId, leverage: Decimal
    ) -> LeverageSetting | Refusal:
        return self._current().set_leverage(trader, market, leverage)

    def leverage_refusal(
        self, trader: Address, market: MarketId, leverage: Decimal
    ) -> Refusal | None:
        return self._current().leverage_refusal(trader, market, leverage)

    def chain_ahead(self) -> int:
        return self._current().chain_ahead()
