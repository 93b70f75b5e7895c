"""A trader's leverage in a market, as the SDK returns it (decimals, the market's symbol)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perpdex.core.types import MarketId
from perpdex.gateway.protocol import Leverage
from perpdex.sdk.markets import Markets


@dataclass(frozen=True, slots=True)
class LeverageSetting:
    """``leverage``: what the pre-trade check holds your orders in ``market`` to (the
    market's maximum, ``1 / initial margin fraction``, while ``chosen`` is False)."""

    market: str
    leverage: Decimal
    max_leverage: Decimal
    chosen: bool

    @classmethod
    def of(cls, frame: Leverage, markets: Markets) -> LeverageSetting:
        return cls(
            markets.id(MarketId(frame.market)).symbol,
            Decimal(frame.leverage),
            Decimal(frame.max_leverage),
            frame.chosen,
        )
