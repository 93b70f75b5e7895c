# pragma version ~=0.4.3
"""
@title Test-only window on the internal margin and packing math
@custom:contract-name MarginHarness
@license MIT
@notice Exposes the internal functions of `contracts/margin.vy` and
        `contracts/packing.vy` unchanged, so property tests can compare them with the
        Python reference model (`perpdex.core.margin`). Never deployed outside tests.
"""

from ....contracts import margin
from ....contracts import packing


@external
@pure
def div_floor(numerator: int256, denominator: int256) -> int256:
    return margin._div_floor(numerator, denominator)


@external
@pure
def div_ceil(numerator: uint256, denominator: uint256) -> uint256:
    return margin._div_ceil(numerator, denominator)


@external
@pure
def notional(size: uint256, price: uint256) -> uint256:
    return margin._notional(size, price)


@external
@pure
def value(size: int256, quote: int256, price: uint256) -> int256:
    return margin._value(size, quote, price)


@external
@pure
def requirement(size: int256, price: uint256, fraction_ppm: uint256) -> uint256:
    return margin._requirement(size, price, fraction_ppm)


@external
@pure
def fee(notional: uint256, fee_ppm: uint256) -> uint256:
    return margin._fee(notional, fee_ppm)


@external
@pure
def pack_account(collateral: int256, flags: uint256, nonce_floor: uint256, cross_markets: uint256) -> uint256:
    return packing._pack_account(
        packing.Account(collateral=collateral, flags=flags, nonce_floor=nonce_floor, cross_markets=cross_markets)
    )


@external
@pure
def unpack_account(word: uint256) -> (int256, uint256, uint256, uint256):
    account: packing.Account = packing._unpack_account(word)
    return (account.collateral, account.flags, account.nonce_floor, account.cross_markets)


@external
@pure
def pack_position(size: int256, quote: int256, isolated: bool, funding: int256) -> uint256:
    return packing._pack_position(size, quote, isolated, packing._pack_funding_snapshot(funding))


@external
@pure
def unpack_position(word: uint256) -> (int256, int256, bool):
    return packing._unpack_position(word)


@external
@pure
def funding_snapshot(word: uint256) -> int256:
    return packing._funding_snapshot(word)


@external
@pure
def funding_payment(size: int256, index_change: int256) -> int256:
    return margin._funding_payment(size, index_change)
