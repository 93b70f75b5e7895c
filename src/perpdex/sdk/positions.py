"""Your open positions as the gateway's position manager sees them (chain state plus the
fills not yet settled), with decimals: ``GET /accounts/{address}``'s ``positions``
(:mod:`perpdex.gateway.position_view`, computed with the contract's integers); and as
the contract holds them (settled fills only), with decimals too."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perpdex.core.types import MarginMode
from perpdex.http import models as api
from perpdex.sdk.chain_client import PositionState
from perpdex.sdk.values import collateral, size


@dataclass(frozen=True, slots=True)
class Position:
    market: str
    size: Decimal
    """Signed: positive long, negative short."""
    margin_mode: MarginMode
    isolated_margin: Decimal
    """USDC backing an isolated position (0 for cross: the cross account backs it)."""
    entry_price: Decimal | None
    """Average price of the open size, fees excluded (None: taken over in a liquidation)."""
    fees_paid: Decimal | None
    mark_price: Decimal | None
    unrealised_pnl: Decimal | None
    """(mark - entry) x size, fees and funding apart."""
    margin_ratio: Decimal | None
    """Equity / maintenance margin of the position's scope (the cross account, or the
    isolated position): the contract liquidates below 1."""
    liquidation_price: Decimal | None
    """The mark price at which the position becomes liquidatable, the other prices held
    (None: no price makes it so)."""
    leverage: Decimal
    """Your leverage cap in the market (its maximum if you set none)."""

    @classmethod
    def of_api(cls, view: api.Position) -> Position:
        return cls(
            market=view.market,
            size=Decimal(view.size),
            margin_mode=MarginMode.ISOLATED if view.margin_mode == "isolated" else MarginMode.CROSS,
            isolated_margin=Decimal(view.isolated_margin),
            entry_price=_decimal(view.entry_price),
            fees_paid=_decimal(view.fees_paid),
            mark_price=_decimal(view.mark_price),
            unrealised_pnl=_decimal(view.unrealised_pnl),
            margin_ratio=_decimal(view.margin_ratio),
            liquidation_price=_decimal(view.liquidation_price),
            leverage=Decimal(view.leverage),
        )


@dataclass(frozen=True, slots=True)
class SettledPosition:
    """A position as the contract holds it (``Exchange.position``): settled fills only."""

    market: str
    size: Decimal
    """Signed: positive long, negative short."""
    quote: Decimal
    """The quote leg in USDC: what opening cost (negative for a long) net of fees."""
    margin_mode: MarginMode
    isolated_margin: Decimal

    @classmethod
    def of(cls, state: PositionState) -> SettledPosition:
        return cls(
            market=state.market.symbol,
            size=size(state.size),
            quote=collateral(state.quote),
            margin_mode=MarginMode.ISOLATED if state.isolated else MarginMode.CROSS,
            isolated_margin=collateral(state.isolated_margin),
        )


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
