"""Amounts as the API writes them: decimal strings in the units a person reads (USD
prices, base-asset sizes, USDC), exact (the contract's integers converted by
:mod:`perpdex.core.units`, never rounded) and without trailing zeros or exponents."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final

from pydantic import Field

from perpdex.core.units import trimmed
from perpdex.core.units import units as scales

AMOUNT_PATTERN: Final = r"^-?[0-9]+(\.[0-9]+)?$"

Amount = Annotated[str, Field(pattern=AMOUNT_PATTERN, examples=["100000.5"])]
"""A decimal string: ``"100000.5"``, ``"-0.25"``, ``"0"``."""

_PPM: Final = Decimal(1_000_000)


def text(amount: Decimal) -> str:
    return f"{trimmed(amount):f}"


def price_text(units: int) -> str:
    """Price units -> USD per whole base unit."""
    return _units_text(units, scales().price_decimals)


def size_text(units: int) -> str:
    """Size units -> base asset."""
    return _units_text(units, scales().size_decimals)


def usdc_text(units: int) -> str:
    """Collateral units -> USDC."""
    return _units_text(units, scales().collateral_decimals)


def _units_text(units: int, decimals: int) -> str:
    """``units / 10**decimals`` as :func:`text` writes it, in integer arithmetic: a book's
    levels are hundreds of amounts per read, and Decimal costs ten times more."""
    whole, fraction = divmod(abs(units), 10**decimals)
    sign = "-" if units < 0 else ""
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{decimals}d}".rstrip("0")


def fraction_text(numerator: int, scale: int) -> str:
    """``numerator / scale`` (a power of ten: exact) as a fraction, ``"0.0002"``."""
    return text(Decimal(numerator) / Decimal(scale))


def ppm_text(ppm: int) -> str:
    """Parts per million as a fraction: 200 -> ``"0.0002"``."""
    return fraction_text(ppm, int(_PPM))
