# pragma version ~=0.4.3
"""
@title Signed order and fill types of perpdex
@custom:contract-name orders
@license MIT
@notice The EIP-712 `Order` a trader's wallet signs, the fill record the operator
        submits, and the struct hash of an order. The Python services derive the same
        type string from one declarative definition (`perpdex.core.eip712`); a test
        checks that both typehashes are equal.
"""

# @dev Time-in-force values signed into an order. The contract can enforce part of
#      their meaning: a post-only order only ever rests, so it may only be the maker
#      of a fill, and an immediate order (IOC, FOK) never rests, so it may only be the
#      taker. The timing half (IOC's "now") is the engine's, and is visible in its log.
TIF_GTC: constant(uint256) = 0
TIF_IOC: constant(uint256) = 1
TIF_FOK: constant(uint256) = 2
TIF_POST_ONLY: constant(uint256) = 3

MARGIN_CROSS: constant(uint256) = 0
MARGIN_ISOLATED: constant(uint256) = 1

# @dev Trigger directions signed into an order (a stop-loss or take-profit): it may only
#      fill while the market's price is at or above, or at or below, its trigger price.
#      A plain order signs TRIGGER_NONE and a zero trigger price; the code 3 (the only
#      other one the head's two bits hold) is no direction and never fills.
TRIGGER_NONE: constant(uint256) = 0
TRIGGER_AT_OR_ABOVE: constant(uint256) = 1
TRIGGER_AT_OR_BELOW: constant(uint256) = 2

ORDER_TYPEHASH: constant(bytes32) = keccak256(
    "Order(address trader,uint32 market,bool isBuy,uint64 size,uint64 limitPrice,"
    "uint32 maxFeePpm,uint8 marginMode,uint8 timeInForce,bool reduceOnly,"
    "uint64 expiry,uint64 nonce,uint64 triggerPrice,uint8 triggerDirection)"
)

CANCEL_TYPEHASH: constant(bytes32) = keccak256(
    "Cancel(address trader,bytes32 orderHash,uint64 expiry)"
)


# @dev The calldata form of a signed order: twelve of the thirteen signed fields packed
#      in two words, so a batch carries 4 words per order instead of 16 (calldata and
#      memory are the largest costs of a batch after storage). Each field is bounded by
#      its width here, which is the width of its EIP-712 type except for the trigger
#      direction (2 bits of a uint8: the codes above).
#        head: trader 0..159 | market 160..191 | max fee ppm 192..223 |
#              margin mode 224..231 | time in force 232..239 | is buy bit 240 |
#              reduce only bit 241 | trigger direction 242..243 | signature v 248..255
#        body: size 0..63 | limit price 64..127 | expiry 128..191 | nonce 192..255
#      The thirteenth, the trigger price, is zero unless the order has a trigger
#      direction; a trigger order's price travels in a trigger word of its own (below),
#      so a plain order, the common case, costs no fifth word.
struct PackedOrder:
    head: uint256
    body: uint256
    r: uint256
    s: uint256


# @dev A fill is one calldata word naming its resting (maker) and incoming (taker)
#      order by index in the batch's order list, so an order that fills several times in
#      one batch is sent and verified once:
#        maker index 0..15 | taker index 16..31 | price 32..95 | size 96..159
FILL_TAKER_OFFSET: constant(uint256) = 16
FILL_PRICE_OFFSET: constant(uint256) = 32
FILL_SIZE_OFFSET: constant(uint256) = 96

# @dev A trigger word gives the trigger price of one trigger order of the batch, named
#      by its index in the batch's order list; a batch lists them by ascending index:
#        order index 0..15 | trigger price 16..79
TRIGGER_PRICE_OFFSET: constant(uint256) = 16


MASK_2: constant(uint256) = (1 << 2) - 1
MASK_8: constant(uint256) = (1 << 8) - 1
MASK_16: constant(uint256) = (1 << 16) - 1
MASK_32: constant(uint256) = (1 << 32) - 1
MASK_64: constant(uint256) = (1 << 64) - 1
MASK_160: constant(uint256) = (1 << 160) - 1

# @dev Bit offsets of the packed fields (the settlement's hot path reads single fields
#      straight from the packed words instead of decoding whole orders).
MARKET_OFFSET: constant(uint256) = 160
MAX_FEE_OFFSET: constant(uint256) = 192
MARGIN_MODE_OFFSET: constant(uint256) = 224
TIME_IN_FORCE_OFFSET: constant(uint256) = 232
IS_BUY_OFFSET: constant(uint256) = 240
REDUCE_ONLY_OFFSET: constant(uint256) = 241
TRIGGER_DIRECTION_OFFSET: constant(uint256) = 242
# @dev The trigger direction's bits in place: zero in the head of a plain order.
TRIGGER_FIELD: constant(uint256) = MASK_2 << TRIGGER_DIRECTION_OFFSET
V_OFFSET: constant(uint256) = 248
LIMIT_PRICE_OFFSET: constant(uint256) = 64
EXPIRY_OFFSET: constant(uint256) = 128
NONCE_OFFSET: constant(uint256) = 192


@internal
@pure
def _struct_hash(head: uint256, body: uint256, trigger_price: uint256) -> bytes32:
    """
    @dev Returns the EIP-712 `hashStruct` of an order: every field is a static type, so
         `abi_encode` of the fields is exactly `encodeData` (a uint32 or a bool is one
         32-byte word like a uint256 of the same value). It takes the two field words
         rather than the `PackedOrder`, so the signature words are not copied along.
    @param head The order's head word.
    @param body The order's body word.
    @param trigger_price Its trigger price (zero for a plain order), below 2**64.
    @return bytes32 The 32-byte struct hash.
    """
    return keccak256(
        abi_encode(
            ORDER_TYPEHASH,
            head & MASK_160,
            (head >> MARKET_OFFSET) & MASK_32,
            (head >> IS_BUY_OFFSET) & 1,
            body & MASK_64,
            (body >> LIMIT_PRICE_OFFSET) & MASK_64,
            (head >> MAX_FEE_OFFSET) & MASK_32,
            (head >> MARGIN_MODE_OFFSET) & MASK_8,
            (head >> TIME_IN_FORCE_OFFSET) & MASK_8,
            (head >> REDUCE_ONLY_OFFSET) & 1,
            (body >> EXPIRY_OFFSET) & MASK_64,
            body >> NONCE_OFFSET,
            trigger_price,
            (head >> TRIGGER_DIRECTION_OFFSET) & MASK_2,
        )
    )


@internal
@pure
def _trigger_reached(head: uint256, trigger_price: uint256, price: uint256) -> bool:
    """
    @dev Whether the trigger order with `head` may fill while its market's price is
         `price`: at or above its trigger price, or at or below it, as it signed.
    @param head The order's head word (its trigger direction bits are not zero).
    @param trigger_price The trigger price its signature was checked with.
    @param price The market's price, price units.
    @return bool True if `price` is on the signed side of the trigger; False for the
            direction code 3, which names no side.
    """
    direction: uint256 = (head >> TRIGGER_DIRECTION_OFFSET) & MASK_2
    if direction == TRIGGER_AT_OR_ABOVE:
        return price >= trigger_price
    if direction == TRIGGER_AT_OR_BELOW:
        return price <= trigger_price
    return direction == TRIGGER_NONE


@internal
@pure
def _trader(head: uint256) -> address:
    """
    @dev The trader of the order whose head word is `head`: its low 160 bits (the
         conversion cannot fail, the mask leaves nothing above them).
    @param head The order's head word.
    @return address The trader.
    """
    return convert(convert(head & MASK_160, uint160), address)
