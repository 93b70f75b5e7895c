"""Integer division with its rounding in the name.

Python's ``//`` floors while the EVM's ``SDIV`` (and Vyper's ``//`` on signed integers)
truncates toward zero: ``-7 // 2`` is ``-4`` in Python and ``-3`` on chain. Off-chain code that
mirrors a contract computation calls the helper naming the contract's rounding; code that
chooses a rounding rounds in the protocol's favour (:func:`div_round_against`).

Every helper raises :class:`ZeroDivisionError` when the divisor is zero. Products in the
``mul_div_*`` helpers are exact (Python integers do not overflow); the contract side must use
a 512-bit-safe or range-checked form of the same expression.
"""

from __future__ import annotations


def div_floor(a: int, b: int) -> int:
    """``a / b`` rounded toward negative infinity."""
    return a // b


def div_ceil(a: int, b: int) -> int:
    """``a / b`` rounded toward positive infinity."""
    return -(-a // b)


def div_trunc(a: int, b: int) -> int:
    """``a / b`` rounded toward zero: the EVM's ``SDIV`` and Vyper's signed ``//``."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def mul_div_floor(a: int, b: int, c: int) -> int:
    """``a * b / c`` rounded toward negative infinity, without intermediate rounding."""
    return div_floor(a * b, c)


def mul_div_ceil(a: int, b: int, c: int) -> int:
    """``a * b / c`` rounded toward positive infinity, without intermediate rounding."""
    return div_ceil(a * b, c)


def mul_div_trunc(a: int, b: int, c: int) -> int:
    """``a * b / c`` rounded toward zero, without intermediate rounding."""
    return div_trunc(a * b, c)


def div_round_against(a: int, b: int, *, debit: bool) -> int:
    """``a / b`` rounded in the protocol's favour.

    A debit (fee, loss, funding paid, margin required) rounds up so the trader never pays a
    fraction less than owed; a credit (profit, funding received, rebate) rounds down so the
    protocol never pays out a fraction it does not hold.
    """
    return div_ceil(a, b) if debit else div_floor(a, b)


def mul_div_round_against(a: int, b: int, c: int, *, debit: bool) -> int:
    """``a * b / c`` rounded in the protocol's favour (see :func:`div_round_against`)."""
    return div_round_against(a * b, c, debit=debit)
