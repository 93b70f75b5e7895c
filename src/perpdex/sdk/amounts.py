"""Readable amounts -> the integers orders and transactions carry, exactly or not at all.

A trader writes ``"0.015"`` BTC at ``"100000.5"`` USD; the signed order holds size and price
units (:mod:`perpdex.core.units`, scales read from the contract). Nothing here rounds: a
value with more decimals than its scale raises :class:`InexactConversionError`, and a size
or price off its market's lot or tick grid raises :class:`OffGridError` here, before it is
signed, rather than being skipped by the contract at settlement (``REJECT_OFF_GRID``).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from perpdex.core.types import Collateral, Price, Size
from perpdex.core.units import (
    DecimalLike,
    InexactConversionError,
    MalformedDecimalError,
    from_price_units,
    from_size_units,
    to_collateral_units,
    to_price_units,
    to_size_units,
)

__all__ = [
    "AmountError",
    "DecimalLike",
    "Grid",
    "InexactConversionError",
    "MalformedDecimalError",
    "NonPositiveAmountError",
    "OffGridError",
    "collateral_amount",
    "order_price",
    "order_size",
]


_Units = TypeVar("_Units", bound=int)


class AmountError(ValueError):
    """An amount a trader typed cannot be used as given (base of the SDK's amount errors)."""


class NonPositiveAmountError(AmountError):
    """Sizes, prices and transfers are positive: zero or less means a typo, not an order."""


class OffGridError(AmountError):
    """A size is not a whole number of lots, or a price not a whole number of ticks."""


class Grid(Protocol):
    """A market's tick and lot (``ListedMarket`` of the deployment file has both)."""

    @property
    def symbol(self) -> str: ...

    @property
    def tick_size(self) -> Price: ...

    @property
    def lot_size(self) -> Size: ...


def order_size(amount: DecimalLike, market: Grid | None = None) -> Size:
    """Base-asset amount -> size units, positive and (given ``market``) a multiple of its lot."""
    size = _positive(to_size_units(amount), amount, "size")
    if market is not None and size % market.lot_size:
        lot = from_size_units(market.lot_size)
        raise OffGridError(f"size {amount} is not a multiple of {market.symbol}'s lot {lot}")
    return size


def order_price(amount: DecimalLike, market: Grid | None = None) -> Price:
    """Collateral per base unit -> price units, positive and (given ``market``) on its tick."""
    price = _positive(to_price_units(amount), amount, "price")
    if market is not None and price % market.tick_size:
        tick = from_price_units(market.tick_size)
        raise OffGridError(f"price {amount} is not a multiple of {market.symbol}'s tick {tick}")
    return price


def collateral_amount(amount: DecimalLike) -> Collateral:
    """A deposit or withdrawal in collateral (USDC) -> token units, positive."""
    return _positive(to_collateral_units(amount), amount, "amount")


def _positive(units: _Units, amount: DecimalLike, what: str) -> _Units:
    if units <= 0:
        raise NonPositiveAmountError(f"{what} must be positive, got {amount}")
    return units
