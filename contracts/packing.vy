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
          bits   0..119  collateral      int120, collateral units (may go below zero
                                          while realised gains sit in positions)
          bits 120..127  flags           bit 120: the trader's order state has used the
                                          per-nonce map (see Exchange `_order_state`)
          bits 128..191  nonce floor     uint64, every order with a lower nonce is
                                          closed (filled or cancelled)
          bits 192..255  cross markets   uint64 bit set, one bit per market with an open
                                          cross position

        Position word (one per trader and market):
          bits   0..63   size            int64, size units, long > 0
          bits  64..159  quote           int96, collateral units: the cash leg of the
                                          position (notional paid or received, fees)
          bits 160..247  funding         int88, the market's funding index when the
                                          position last settled funding (collateral
                                          units per whole base unit)
          bits 248..255  flags           bit 248: the position is isolated
"""

_MASK_64: constant(uint256) = (1 << 64) - 1
_MASK_96: constant(uint256) = (1 << 96) - 1
_MASK_8: constant(uint256) = (1 << 8) - 1
_MASK_88: constant(uint256) = (1 << 88) - 1
_MASK_120: constant(uint256) = (1 << 120) - 1
_FUNDING_OFFSET: constant(uint256) = 160
# @dev The funding field of a position word (and of the Exchange's risk word).
_FUNDING_FIELD: constant(uint256) = _MASK_88 << _FUNDING_OFFSET
_ISOLATED_FLAG: constant(uint256) = 1 << 248


struct Account:
    collateral: int256
    flags: uint256
    nonce_floor: uint256
    cross_markets: uint256


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
def _pack_account(account: Account) -> uint256:
    """
    @dev Packs an account word; reverts if a field is out of its range.
    @param account The unpacked account.
    @return uint256 The packed word.
    """
    collateral: int120 = convert(account.collateral, int120)
    flags: uint8 = convert(account.flags, uint8)
    nonce_floor: uint64 = convert(account.nonce_floor, uint64)
    cross_markets: uint64 = convert(account.cross_markets, uint64)
    return (
        (self._twos_complement(convert(collateral, int256)) & _MASK_120)
        | (convert(flags, uint256) << 120)
        | (convert(nonce_floor, uint256) << 128)
        | (convert(cross_markets, uint256) << 192)
    )


@internal
@pure
def _unpack_account(word: uint256) -> Account:
    """
    @dev Unpacks an account word. A signed field is read by moving it to the top of the
         word and shifting it back arithmetically, which copies its sign bit down.
    """
    return Account(
        collateral=convert(convert(word << 136, bytes32), int256) >> 136,
        flags=(word >> 120) & _MASK_8,
        nonce_floor=(word >> 128) & _MASK_64,
        cross_markets=word >> 192,
    )


@internal
@pure
def _pack_position(size: int256, quote: int256, isolated: bool, funding_field: uint256) -> uint256:
    """
    @dev Packs a position word; reverts if a field is out of its range. A flat
         position whose quote has been realised packs to zero, flag included, so a
         word is non-zero exactly while the position holds something; a flat
         position keeps no funding snapshot (it owes no funding).
    @param size The signed size, size units.
    @param quote The cash leg, collateral units.
    @param isolated Whether the position is backed by its own collateral.
    @param funding_field The funding index the position has settled up to, as
           `_pack_funding_snapshot` puts it in its field.
    @return uint256 The packed word.
    """
    s: int64 = convert(size, int64)
    q: int96 = convert(quote, int96)
    word: uint256 = (self._twos_complement(convert(s, int256)) & _MASK_64) | (
        (self._twos_complement(convert(q, int256)) & _MASK_96) << 64
    )
    if s != 0:
        word |= funding_field & _FUNDING_FIELD
    if isolated and word != 0:
        word |= _ISOLATED_FLAG
    return word


@internal
@pure
def _pack_funding_snapshot(funding: int256) -> uint256:
    """
    @dev A funding index in the funding field of a word (bits 160..247); reverts if it
         does not fit in int88.
    """
    return (self._twos_complement(convert(convert(funding, int88), int256)) & _MASK_88) << _FUNDING_OFFSET


@internal
@pure
def _funding_snapshot(word: uint256) -> int256:
    """
    @dev The funding field (bits 160..247) of a position word, or of the Exchange's
         risk word, which keeps a market's index at the same place.
    """
    return convert(convert(word << 8, bytes32), int256) >> 168


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
