"""Human text for the SDK's integer amounts (tables, logs); exact, never rounded."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from perpdex.core.eip712 import UnixTime
from perpdex.core.types import Collateral, Price, Size
from perpdex.core.units import from_collateral_units, from_price_units, from_size_units


def plain(amount: Decimal) -> str:
    """``100000.000000`` -> ``100000``, ``0.100000`` -> ``0.1``."""
    return f"{amount.normalize():f}"


def usdc(amount: int) -> str:
    return f"{plain(from_collateral_units(Collateral(amount)))} USDC"


def size_text(size: int) -> str:
    return plain(from_size_units(Size(size)))


def price_text(price: int) -> str:
    return plain(from_price_units(Price(price)))


def utc(timestamp: UnixTime) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
