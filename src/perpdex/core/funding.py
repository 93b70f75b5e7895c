"""Reference model of the contract's funding, bit for bit.

A market's funding index moves once per interval by the keeper's rate, clamped to the
market's cap, times the index price (``Markets.post_funding``). A position pays or receives
``margin.funding_payment`` of the index change since its snapshot whenever the Exchange
touches it (a fill, a liquidation, a deleveraging), and its health counts what it has not
settled yet (``margin.cross_health``, ``margin.isolated_health``). Scales and bounds are read
from ``contracts/Markets.vy``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import NewType

from perpdex.core.margin import (
    FundingIndex,
    OutOfRangeError,
    PositionState,
    unsettled_funding,
)
from perpdex.core.rounding import div_trunc
from perpdex.core.types import Collateral, Price
from perpdex.core.units import contracts_dir, vyper_constants

FundingRate = NewType("FundingRate", int)
"""A funding rate per interval, a fraction of the index price at ``FUNDING_RATE_SCALE``."""

MARKETS_SOURCE = "Markets.vy"


@dataclass(frozen=True, slots=True)
class FundingBounds:
    """The funding constants of ``contracts/Markets.vy``."""

    rate_scale: int
    max_index: int


@cache
def bounds() -> FundingBounds:
    constants = vyper_constants(contracts_dir() / MARKETS_SOURCE)
    return FundingBounds(constants["FUNDING_RATE_SCALE"], constants["MAX_FUNDING_INDEX"])


def clamp_rate(rate: FundingRate, cap: FundingRate) -> FundingRate:
    """The rate a post applies: the keeper's, clamped to the market's cap either way."""
    return FundingRate(min(max(rate, -cap), cap))


def index_step(rate: FundingRate, price: Price) -> int:
    """How far one post at an applied ``rate`` moves the index at ``price``: the product
    truncated toward zero (the contract's signed ``//``), so a positive and a negative rate
    of the same size move it by the same amount and both sides see the same step."""
    return div_trunc(rate * price, bounds().rate_scale)


@dataclass(frozen=True, slots=True)
class FundingPost:
    """What ``Markets.post_funding`` records (its ``FundingPosted`` event)."""

    rate: FundingRate
    index: FundingIndex


def post(index: FundingIndex, rate: FundingRate, cap: FundingRate, price: Price) -> FundingPost:
    """One post of ``rate`` at the good index ``price`` onto a market's ``index``. Raises
    OutOfRangeError where the contract reverts: the index must stay within the int88 a
    position word snapshots it in."""
    applied = clamp_rate(rate, cap)
    moved = index + index_step(applied, price)
    if abs(moved) > bounds().max_index:
        raise OutOfRangeError(f"funding index {moved} out of range")
    return FundingPost(applied, FundingIndex(moved))


def settles(position: PositionState, index: FundingIndex) -> bool:
    """Whether touching ``position`` at ``index`` settles funding and logs ``FundingSettled``:
    its snapshot moved, whether or not the amount rounds to zero."""
    return position.size != 0 and position.funding != index


def settle(position: PositionState, index: FundingIndex) -> tuple[PositionState, Collateral]:
    """Settle-on-touch (``ledger._settle_funding``): the position with its funding up to
    ``index`` in its quote leg and ``index`` as its snapshot, and the amount settled (the
    ``FundingSettled`` amount: see :func:`settles` for when it is logged). A flat position
    owes nothing and keeps no snapshot."""
    if position.size == 0:
        return position, Collateral(0)
    amount = unsettled_funding(position, index)
    return replace(position, quote=Collateral(position.quote + amount), funding=index), amount
