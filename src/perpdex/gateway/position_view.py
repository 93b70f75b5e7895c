"""The ``positions`` of the HTTP API's ``GET /accounts/{address}``: each open position's figures
(:class:`~perpdex.gateway.risk.PositionFigures`) as decimal strings in the trader's
units (base asset, USD prices, USDC amounts), null where unknown.

Exact where the contract's integers are exact (sizes, prices, amounts). Two are ratios:
the entry price (the fills' size-weighted average) is given to ``ENTRY_DECIMALS``, and
the margin ratio, equity / maintenance of the position's scope (the contract's own
ratio: it liquidates below 1), to ``RATIO_DECIMALS``, both rounded down.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Final

import msgspec

from perpdex.core.types import Collateral, Price
from perpdex.core.units import from_collateral_units, from_price_units, from_size_units, units
from perpdex.gateway.risk import PositionFigures

ENTRY_DECIMALS: Final = 8
RATIO_DECIMALS: Final = 4


class PositionView(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    market: int
    size: str  # signed, base asset
    margin_mode: str  # "cross" or "isolated"
    isolated_margin: str  # USDC; "0" for a cross position
    entry_price: str | None  # USD, fees excluded
    fees_paid: str | None  # USDC, since the position opened
    mark_price: str | None
    unrealised_pnl: str | None  # USDC, (mark - entry) x size: fees and funding apart
    margin_ratio: str | None  # equity / maintenance of the scope; liquidatable below 1
    liquidation_price: str | None
    leverage: str  # the trader's cap in the market (its maximum if none set)


def position_view(figures: PositionFigures) -> PositionView:
    equity, maintenance = figures.scope_equity, figures.scope_maintenance
    ratio = (
        None
        if equity is None or not maintenance
        else rounded_down(Fraction(equity, maintenance), RATIO_DECIMALS)
    )
    entry = figures.entry_price
    return PositionView(
        market=figures.market,
        size=_text(from_size_units(figures.size)),
        margin_mode="isolated" if figures.isolated else "cross",
        isolated_margin=_text(from_collateral_units(figures.isolated_margin)),
        entry_price=None
        if entry is None
        else rounded_down(entry / 10 ** units().price_decimals, ENTRY_DECIMALS),
        fees_paid=_usdc(figures.fees_paid),
        mark_price=_price(figures.mark_price),
        unrealised_pnl=_usdc(figures.unrealised_pnl),
        margin_ratio=ratio,
        liquidation_price=_price(figures.liquidation_price),
        leverage=_text(figures.leverage),
    )


def rounded_down(value: Fraction, decimals: int) -> str:
    """``value`` to ``decimals`` decimals, rounded down, as a decimal string."""
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    return _text(quotient.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_FLOOR))


def _usdc(amount: Collateral | None) -> str | None:
    return None if amount is None else _text(from_collateral_units(amount))


def _price(price: Price | None) -> str | None:
    return None if price is None else _text(from_price_units(price))


def _text(amount: Decimal) -> str:
    return f"{amount.normalize():f}"
