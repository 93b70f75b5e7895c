"""What a position was opened at, fees apart: the contract keeps one quote leg per position
(what opening cost, fees, funding and realised PnL of partial closes all in one), so the
average entry price and the fees paid are folded here from the fills themselves.

Increasing a position averages its entry price by size; reducing it leaves the price and
adds the fee; flipping it starts a new entry at the fill price with the part of the fee
that opened the new side (pro rata by size, rounded down: the rest closed the old one).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from perpdex.core.rounding import div_floor
from perpdex.core.types import Collateral, Price


@dataclass(frozen=True, slots=True)
class Entry:
    price: Fraction
    """Price units: the average price of the open size, exact (a ratio of the fills)."""
    fees: Collateral
    """Fees paid by the fills of this position since it opened."""


def after_fill(
    entry: Entry | None, size: int, delta: int, price: Price, fee: Collateral
) -> Entry | None:
    """The entry of a position of signed ``size`` after a fill of signed ``delta`` at
    ``price`` paying ``fee``; None once flat, and for a reduced position whose entry was
    never seen (taken over in a liquidation: then it stays unknown)."""
    new = size + delta
    if new == 0:
        return None
    if size == 0 or (size > 0) == (delta > 0):  # opened or increased
        if entry is None and size != 0:
            return None
        held = Fraction(0) if entry is None else entry.price * abs(size)
        paid = 0 if entry is None else entry.fees
        return Entry((held + price * abs(delta)) / abs(new), Collateral(paid + fee))
    if (new > 0) == (size > 0):  # reduced
        return None if entry is None else Entry(entry.price, Collateral(entry.fees + fee))
    return Entry(Fraction(price), Collateral(div_floor(fee * abs(new), abs(delta))))  # flipped


def kept(entry: Entry | None, size: int, new: int) -> Entry | None:
    """The entry of a position the chain moved from ``size`` to ``new`` without a fill
    (liquidation, deleveraging): kept while it only shrank, unknown otherwise."""
    if entry is None or new == 0 or (new > 0) != (size > 0) or abs(new) > abs(size):
        return None
    return entry
