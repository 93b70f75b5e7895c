# pragma version ~=0.4.3
"""
@title Storage packing of accounts and positions
@custom:contract-name packing
@license MIT
@notice Vyper gives every struct member its own storage slot, so the two records a
        fill touches are packed by hand into one word each: a settled fill then costs
        one slot write per trader instead of four. Every field is range-checked by a
        clamping `convert` before it is packed, so a value that does not fit reverts
        instead of corrupting its neighbours.

        Account word (one per trader):
          bits   0..127  collateral      int128, collateral units (may go below zero
                                          while realised gains sit in positions)
          bits 128..191  nonce floor     uint64, orders with a lower nonce are cancelled
          bits 192..255  cross markets   uint64 bit set, one bit per market with an open
                                          cross position

        Position word (one per trader and market):
          bits   0..63   size            int64, size units, long > 0
          bits  64..159  quote           int96, collateral units: the cash leg of the
                                          position (notional paid or received, fees)
          bits 160..247  reserved        for the funding index snapshot
          bits 248..255  flags           bit 248: the position is isolated
"""

_MASK_64: constant(uint256) = (1 << 64) - 1
_MASK_96: constant(uint256) = (1 << 96) - 1
_MASK_128: constant(uint256) = (1 << 128) - 1
_ISOLATED_FLAG: constant(uint256) = 1 << 248


@internal
@pure
def _twos_complement(x: int256) -> uint256:
    """
    @dev Returns the 256-bit two's complement pattern of `x`; masking it keeps the low
         bits of a narrower signed field.
    """
    return convert(convert(x, bytes32), uint256)


@internal
@pure
def _pack_account(collateral: int256, nonce_floor: uint256, cross_markets: uint256) -> uint256:
    """
    @dev Packs an account word; reverts if a field is out of its range.
    @param collateral The cross collateral, collateral units.
    @param nonce_floor The lowest nonce still valid.
    @param cross_markets The bit set of markets with an open cross position.
    @return uint256 The packed word.
    """
    c: int128 = convert(collateral, int128)
    n: uint64 = convert(nonce_floor, uint64)
    m: uint64 = convert(cross_markets, uint64)
    return (
        (self._twos_complement(convert(c, int256)) & _MASK_128)
        | (convert(n, uint256) << 128)
        | (convert(m, uint256) << 192)
    )


@internal
@pure
def _unpack_account(word: uint256) -> (int256, uint256, uint256):
    """
    @dev Unpacks an account word. A signed field is read by moving it to the top of the
         word and shifting it back arithmetically, which copies its sign bit down.
    @return (collateral, nonce floor, cross market bit set).
    """
    return (
        convert(convert(word << 128, bytes32), int256) >> 128,
        (word >> 128) & _MASK_64,
        word >> 192,
    )


@internal
@pure
def _pack_position(size: int256, quote: int256, isolated: bool) -> uint256:
    """
    @dev Packs a position word; reverts if a field is out of its range. A flat
         position whose quote has been realised packs to zero, flag included, so a
         word is non-zero exactly while the position holds something.
    @param size The signed size, size units.
    @param quote The cash leg, collateral units.
    @param isolated Whether the position is backed by its own collateral.
    @return uint256 The packed word.
    """
    s: int64 = convert(size, int64)
    q: int96 = convert(quote, int96)
    word: uint256 = (self._twos_complement(convert(s, int256)) & _MASK_64) | (
        (self._twos_complement(convert(q, int256)) & _MASK_96) << 64
    )
    if isolated and word != 0:
        word |= _ISOLATED_FLAG
    return word


@internal
@pure
def _unpack_position(word: uint256) -> (int256, int256, bool):
    """
    @dev Unpacks a position word (signed fields as in `_unpack_account`).
    @return (size, quote, isolated).
    """
    return (
        convert(convert(word << 192, bytes32), int256) >> 192,
        convert(convert(word << 96, bytes32), int256) >> 160,
        word & _ISOLATED_FLAG != 0,
    )


@internal
@pure
def _position_size(word: uint256) -> int256:
    """
    @dev The size field alone of a position word.
    """
    return convert(convert(word << 192, bytes32), int256) >> 192


@internal
@pure
def _is_isolated(word: uint256) -> bool:
    return word & _ISOLATED_FLAG != 0
