"""ccxt's inputs (floats, ints, strings) as the SDK's exact decimals, and ccxt's
``amount_to_precision`` / ``price_to_precision`` on a market's lot and tick grid.

A float is read by its shortest repr (``0.1`` is ``"0.1"``, the value a bot typed), never by
its binary value; a value off the grid is refused by the SDK (InvalidOrder), so a bot
rounds with the two precision helpers first, as ccxt asks.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from perpdex.ccxt.errors import BadRequest
from perpdex.chain.deployment import ListedMarket
from perpdex.core.units import from_price_units, from_size_units

Number = float | int | str | Decimal


def decimal(value: Number, what: str) -> Decimal:
    """``value`` as the decimal its text shows; BadRequest for anything else."""
    if isinstance(value, bool):
        raise BadRequest(f"{what} must be a number, got {value!r}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise BadRequest(f"{what} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise BadRequest(f"{what} must be finite, got {value!r}")
    return number


def amount_to_precision(market: ListedMarket, amount: Number) -> str:
    """Truncate to a whole number of lots (ccxt truncates amounts)."""
    return _on_grid(decimal(amount, "amount"), from_size_units(market.lot_size), ROUND_DOWN)


def price_to_precision(market: ListedMarket, price: Number) -> str:
    """Round to the nearest tick (ccxt rounds prices)."""
    return _on_grid(decimal(price, "price"), from_price_units(market.tick_size), ROUND_HALF_UP)


def _on_grid(value: Decimal, step: Decimal, rounding: str) -> str:
    steps = (value / step).quantize(Decimal(1), rounding=rounding)
    return f"{(steps * step).normalize():f}"
