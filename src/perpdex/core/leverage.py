"""Leverage as a trader writes it (``5``, ``12.5``) and the margin fraction it stands for.

A market's maximum is ``1 / IMR``, its initial margin fraction (``Markets.risk``); a
trader's setting is at least 1x, at most that maximum, with at most two decimals, and
stands for the fraction ``1 / leverage`` rounded up (a requirement never rounds in the
trader's favour). Shared by the gateway, the pre-trade check and the SDK.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Final

from perpdex.core.margin import MarginPpm
from perpdex.core.rounding import div_ceil
from perpdex.core.units import units

LEVERAGE_DECIMALS: Final = 2
"""A setting has at most this many decimals (12.5x, 3.25x)."""

MIN_LEVERAGE: Final = Decimal(1)
"""Below 1x a position would need more margin than its notional: no market offers that."""


class LeverageError(ValueError):
    """A leverage setting the market refuses; nothing was changed."""


def max_leverage(initial_margin_ppm: int) -> Decimal:
    """The market's maximum, ``1 / IMR``, to two decimals rounded down (never above it)."""
    exact = Decimal(units().fraction_scale) / Decimal(initial_margin_ppm)
    return exact.quantize(Decimal(1).scaleb(-LEVERAGE_DECIMALS), rounding=ROUND_FLOOR)


def parse_leverage(text: str) -> Decimal:
    """A decimal leverage of at least 1x with at most two decimals; LeverageError if not."""
    try:
        leverage = Decimal(text)
    except InvalidOperation:
        raise LeverageError(f"leverage {text!r} is not a decimal") from None
    if not leverage.is_finite() or leverage < MIN_LEVERAGE:
        raise LeverageError(f"leverage {text} is below {MIN_LEVERAGE}x")
    exponent = leverage.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -LEVERAGE_DECIMALS:
        raise LeverageError(f"leverage {text} has more than {LEVERAGE_DECIMALS} decimals")
    return leverage.normalize()


def check_setting(leverage: Decimal, initial_margin_ppm: int) -> None:
    """LeverageError unless ``leverage`` is at most the market's ``1 / IMR`` (compared
    exactly: ``leverage * IMR <= 1``)."""
    if leverage * initial_margin_ppm > units().fraction_scale:
        raise LeverageError(
            f"leverage {leverage}x is above the market's maximum of "
            f"{max_leverage(initial_margin_ppm)}x (its initial margin is "
            f"{Decimal(initial_margin_ppm) / units().fraction_scale:%})"
        )


def margin_fraction(leverage: Decimal) -> MarginPpm:
    """``1 / leverage`` in ppm, rounded up (a requirement never rounds in the trader's
    favour)."""
    numerator, denominator = leverage.as_integer_ratio()
    return MarginPpm(div_ceil(units().fraction_scale * denominator, numerator))
