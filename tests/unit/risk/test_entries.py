"""Entry price and fees of a position folded from its fills: averaged on increase, kept on
reduce, restarted on a flip, unknown for a position taken over without its fills."""

from __future__ import annotations

from fractions import Fraction

from perpdex.core.types import Collateral, Price
from perpdex.risk.entries import Entry, after_fill, kept


def test_increases_average_by_size_and_fees_add_up() -> None:
    entry = after_fill(None, 0, 3, Price(100), Collateral(5))
    assert entry == Entry(Fraction(100), Collateral(5))
    entry = after_fill(entry, 3, 1, Price(104), Collateral(2))
    assert entry == Entry(Fraction(404, 4), Collateral(7))


def test_a_reduce_keeps_the_price_and_a_close_forgets_it() -> None:
    entry = Entry(Fraction(101), Collateral(7))
    assert after_fill(entry, 4, -1, Price(90), Collateral(1)) == Entry(Fraction(101), Collateral(8))
    assert after_fill(entry, 4, -4, Price(90), Collateral(1)) is None


def test_a_flip_starts_at_the_fill_price_with_its_share_of_the_fee() -> None:
    # short 2 from long 1: half the size (and of the fee) opened the short
    entry = after_fill(Entry(Fraction(101), Collateral(7)), 1, -3, Price(90), Collateral(9))
    assert entry == Entry(Fraction(90), Collateral(6))


def test_an_entry_never_seen_stays_unknown_until_flat() -> None:
    assert after_fill(None, 2, 1, Price(100), Collateral(1)) is None
    assert after_fill(None, 2, -1, Price(100), Collateral(1)) is None
    taken = Entry(Fraction(100), Collateral(3))
    assert kept(taken, 5, 3) == taken  # liquidated in part
    assert kept(taken, 5, 6) is None  # grew without a fill: a liquidator's takeover
    assert kept(taken, 5, -1) is None
