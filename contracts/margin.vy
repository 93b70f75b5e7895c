# pragma version ~=0.4.3
"""
@title Margin arithmetic of perpdex
@custom:contract-name margin
@license MIT
@notice Pure integer math shared by the settlement and the risk checks. Every division
        names its rounding and rounds in the protocol's favour: a position's value is
        rounded down, a margin requirement or a fee is rounded up. The Python reference
        model (`perpdex.core.margin`) mirrors each function bit for bit.
"""

from . import units


@internal
@pure
def _div_floor(numerator: int256, denominator: int256) -> int256:
    """
    @dev Signed division rounded toward minus infinity. The EVM's `SDIV` (Vyper's `//`
         on signed values) truncates toward zero, which would round a loss in the
         trader's favour; this corrects the quotient by one when there is a remainder
         and the signs differ. `denominator` is positive at every call site.
    """
    quotient: int256 = numerator // denominator
    if numerator % denominator != 0 and (numerator < 0) != (denominator < 0):
        quotient -= 1
    return quotient


@internal
@pure
def _div_ceil(numerator: uint256, denominator: uint256) -> uint256:
    """
    @dev Unsigned division rounded up. `numerator + denominator - 1` cannot overflow for
         the operands used here (products of 64-bit sizes, prices and ppm fractions).
    """
    return (numerator + denominator - 1) // denominator


@internal
@pure
def _notional(size: uint256, price: uint256) -> uint256:
    """
    @dev The collateral value of `size` at `price`. Exact for trade prices and sizes on
         the market's tick and lot grid (the listing guarantees it); rounded up
         otherwise, since it only feeds requirements.
    """
    return self._div_ceil(size * price, units.SIZE_SCALE)


@internal
@pure
def _value(size: int256, quote: int256, price: uint256) -> int256:
    """
    @dev The signed value of a position at `price`: its cash leg plus its size marked
         to `price`, rounded down.
    """
    return quote + self._div_floor(size * convert(price, int256), convert(units.SIZE_SCALE, int256))


@internal
@pure
def _requirement(size: int256, price: uint256, fraction_ppm: uint256) -> uint256:
    """
    @dev The margin a position of `size` needs at `price` for a margin fraction in parts
         per million, rounded up.
    """
    return self._div_ceil(
        convert(abs(size), uint256) * price * fraction_ppm,
        units.SIZE_SCALE * units.FRACTION_SCALE,
    )


@internal
@pure
def _fee(notional: uint256, fee_ppm: uint256) -> uint256:
    """
    @dev The fee on `notional` at a rate in parts per million, rounded up (a debit).
    """
    return self._div_ceil(notional * fee_ppm, units.FRACTION_SCALE)


@internal
@pure
def _funding_payment(size: int256, index_change: int256) -> int256:
    """
    @dev The cash a position of `size` receives (> 0) or pays (< 0) when the funding
         index moves by `index_change` (collateral units per whole base unit):
         -size * index_change / SIZE_SCALE rounded down, so a payment is rounded up
         and a receipt down, and the sum over all positions never creates collateral.
    """
    return self._div_floor(-size * index_change, convert(units.SIZE_SCALE, int256))
