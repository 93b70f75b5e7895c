# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title perpdex Exchange: custody, markets and trade settlement
@custom:contract-name Exchange
@license MIT
@notice The only record of who owns what. It holds every trader's collateral (one
        6-decimal ERC-20) and moves a position only when two orders signed by their
        traders (EIP-712) agree on it. The operator key submits matched fills in
        batches; for every fill the contract re-checks both signatures, the price
        against both limits, the size against what each order has left, expiry,
        cancellation, the signed fee cap, time in force, reduce-only and a trigger
        order's trigger against the market's oracle price. A fill that
        breaks one of these rules is skipped with a `FillRejected` event and changes
        nothing. After the batch every touched account is checked once: it must meet
        initial margin, or only have reduced its risk without its margin ratio
        getting worse; otherwise the whole batch reverts with `MarginCheckFailed`
        naming the account, so the batcher can drop its fills and resubmit.
        The operator can neither withdraw nor move a position without a signed order.
"""

from ethereum.ercs import IERC20
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712
from snekmate.utils import message_hash_utils

from .interfaces import ICheckpoints
from .interfaces import IMarkets
from . import ledger
from . import margin
from . import orders
from . import packing
from . import params
from . import units

initializes: eip712
initializes: ledger

exports: (
    eip712.eip712Domain,
    ledger.MARKETS,
    ledger.operator,
    ledger.fee_recipient,
    ledger.withdrawal_delay,
    ledger.fee_pool,
    ledger.insurance_fund,
)


# @dev Read by the Python services from the compiled contract, never retyped.
SIZE_SCALE: public(constant(uint256)) = units.SIZE_SCALE
PRICE_DECIMALS: public(constant(uint256)) = units.PRICE_DECIMALS
FRACTION_SCALE: public(constant(uint256)) = units.FRACTION_SCALE
ORDER_TYPEHASH: public(constant(bytes32)) = orders.ORDER_TYPEHASH
CANCEL_TYPEHASH: public(constant(bytes32)) = orders.CANCEL_TYPEHASH

# @dev A batch is bounded by gas, not by count: the batcher sizes it from gas estimates
#      below the block gas limit. These bounds only size the calldata arrays, and
#      stay small because Vyper reserves memory for the largest batch.
MAX_FILLS: public(constant(uint256)) = 256
MAX_ORDERS: public(constant(uint256)) = 512
# @dev Trigger orders per batch: Vyper copies each array argument into memory reserved at
#      its bound, before the locals, so every batch pays for this bound's memory (about
#      1,300 gas at 64; 9,700 at MAX_ORDERS). Trigger orders are the few; more of them
#      than this in a row settle in more batches.
MAX_TRIGGERS: public(constant(uint256)) = 64
MAX_MARKETS: public(constant(uint256)) = 64
MAX_CANCELS: public(constant(uint256)) = 128
MIN_WITHDRAWAL_DELAY: public(constant(uint256)) = 60
MAX_WITHDRAWAL_DELAY: public(constant(uint256)) = 86_400

# @dev Why a fill was skipped (the `reason` of `FillRejected`).
REJECT_BAD_INDEX: public(constant(uint8)) = 1
REJECT_BAD_SIGNATURE: public(constant(uint8)) = 2
REJECT_MARKET: public(constant(uint8)) = 3
REJECT_SAME_SIDE: public(constant(uint8)) = 4
REJECT_PRICE_LIMIT: public(constant(uint8)) = 5
REJECT_OFF_GRID: public(constant(uint8)) = 6
REJECT_EXPIRED: public(constant(uint8)) = 7
REJECT_TIME_IN_FORCE: public(constant(uint8)) = 8
REJECT_FEE_ABOVE_MAX: public(constant(uint8)) = 9
REJECT_ORDER_CLOSED: public(constant(uint8)) = 10
REJECT_OVERFILL: public(constant(uint8)) = 11
REJECT_REDUCE_ONLY: public(constant(uint8)) = 12
REJECT_MARGIN_MODE: public(constant(uint8)) = 13
REJECT_SELF_TRADE: public(constant(uint8)) = 14
REJECT_ISOLATED_DEFICIT: public(constant(uint8)) = 15
REJECT_OUT_OF_RANGE: public(constant(uint8)) = 16
REJECT_FILL_OR_KILL: public(constant(uint8)) = 17
REJECT_TRIGGER_NOT_REACHED: public(constant(uint8)) = 18

# @dev The trigger direction codes an order signs (read by the Python services).
TRIGGER_AT_OR_ABOVE: public(constant(uint256)) = orders.TRIGGER_AT_OR_ABOVE
TRIGGER_AT_OR_BELOW: public(constant(uint256)) = orders.TRIGGER_AT_OR_BELOW

# @dev The secp256k1 group order: a signature whose r is not below it, or whose s is
#      above snekmate's low-s bound (EIP-2), is skipped as invalid instead of reverting
#      the batch inside the ECDSA module.
_CURVE_ORDER: constant(uint256) = (
    115_792_089_237_316_195_423_570_985_008_687_907_852_837_564_279_074_904_382_605_163_141_518_161_494_337
)

# @dev Fill state of an order, by its trader's nonce. The common case costs no slot of
#      its own: a trader filling orders whole in nonce order only raises the nonce floor
#      in their account word. Otherwise two bits per nonce, 128 nonces per word of
#      `_order_state`: bit 0 "closed" (fully filled or cancelled), bit 1 "partially
#      filled" (its filled amount is in `_order_filled`, by order hash).
_CLOSED_BIT: constant(uint256) = 1
_PARTIAL_BIT: constant(uint256) = 2
_NONCES_PER_WORD_LOG2: constant(uint256) = 7

_MASK_32: constant(uint256) = (1 << 32) - 1
_MASK_64: constant(uint256) = (1 << 64) - 1

# @dev Fields of the packed account word read on the hot path (layout in packing.vy).
_FLAGS_OFFSET: constant(uint256) = 120
_NONCE_FLOOR_OFFSET: constant(uint256) = 128
_CROSS_MARKETS_OFFSET: constant(uint256) = 192
_ORDER_MAP_FLAG: constant(uint256) = 1
# @dev A floor raised this high switches its trader to the map (see `raise_nonce_floor`);
#      below it the fast path's +1 per filled order cannot reach 2**64 (2**63 fills).
_NONCE_FLOOR_FAST_LIMIT: constant(uint256) = 1 << 63


# @dev The `_seen` batch scratch word of a trader: bit m (< 64) the batch touched their
#      position in market m, `_ISOLATED_SEEN` one of those is isolated, and the batch's
#      tag from `_TAG_OFFSET` up. A word with another tag is left over from an earlier
#      settle of the same transaction and counts as empty, so nothing needs clearing.
_ISOLATED_SEEN: constant(uint256) = 1 << 64
_TAG_OFFSET: constant(uint256) = 128
# @dev Returned by `_fill_side` above its market bits.
_FIRST_TOUCH: constant(uint256) = 1 << 255
_MASK_128: constant(uint256) = (1 << 128) - 1

# @dev The ranges that keep a fill from overflowing its traders' position words (int64
#      size, int96 quote), which would revert the batch: a fill below 2**62 size units
#      at a price below 2**56 (so below 2**92 collateral units of notional, its fee at
#      most 1% of that) added to a position below 2**62 in size and 2**93 in quote
#      always fits, with 2**94 of the quote left for funding. A fill outside its range
#      is skipped; a position outside its range gets the exact check (`_still_fits`),
#      so it can always be reduced.
_FILL_SIZE_BITS: constant(uint256) = 62
_FILL_PRICE_BITS: constant(uint256) = 56
_MAX_QUOTE: constant(int256) = 1 << 94
_MAX_SIZE: constant(int256) = (1 << 63) - 1


# @dev A fill being settled: its price, size and market, the market's packed
#      parameter word, and its funding index as the funding field of a position word
#      (so a position's snapshot is compared and written without unpacking it).
struct Fill:
    price: uint256
    size: uint256
    market: uint256
    params: uint256
    funding: uint256


# @dev One side of a fill: the order's fields the settlement needs, the trader's
#      account, position and order-state words as read before the fill, and why the
#      order cannot take the fill (0 if it can).
struct Side:
    trader: address
    order_hash: bytes32
    head: uint256
    size: uint256
    nonce: uint256
    account: uint256
    position: uint256
    state: uint256
    reason: uint8


event Deposited:
    trader: indexed(address)
    amount: uint256


event WithdrawalRequested:
    trader: indexed(address)
    amount: uint256
    ready_at: uint256


event WithdrawalCancelled:
    trader: indexed(address)


event Withdrawn:
    trader: indexed(address)
    amount: uint256


event WithdrawalDelayChanged:
    delay: uint256


event Filled:
    maker: indexed(address)
    taker: indexed(address)
    market: uint256
    maker_hash: bytes32
    taker_hash: bytes32
    price: uint256
    size: uint256
    maker_fee: uint256
    taker_fee: uint256


event FillRejected:
    index: uint256
    maker_hash: bytes32
    taker_hash: bytes32
    reason: uint8


event InsuranceFunded:
    funder: indexed(address)
    amount: uint256


event OrderCancelled:
    trader: indexed(address)
    nonce: uint256
    order_hash: bytes32


event NonceFloorRaised:
    trader: indexed(address)
    nonce_floor: uint256


event OperatorChanged:
    operator: indexed(address)


event FeeRecipientChanged:
    recipient: indexed(address)


event FeesClaimed:
    recipient: indexed(address)
    amount: uint256


COLLATERAL: public(immutable(IERC20))
admin: public(immutable(address))
# @dev Where `liquidate` and `deleverage` run, on this contract's storage.
LIQUIDATIONS: public(immutable(address))
# @dev The journal's checkpoints: once a fault of the operator is proven there,
#      `settle` refuses every batch.
CHECKPOINTS: public(immutable(ICheckpoints))

@deploy
def __init__(
    collateral: address, markets: address, liquidations: address, checkpoints: address, operator: address
):
    """
    @dev The deployer becomes the admin, who lists markets and tunes their parameters
         but, like the operator, has no way to move a trader's collateral.
    @param collateral The 6-decimal ERC-20 held as collateral.
    @param markets The Markets registry the markets, prices and funding come from.
    @param liquidations The Liquidations contract deployed for the same registry.
    @param checkpoints The Checkpoints contract of the operator's journal.
    @param operator The key allowed to submit fills.
    """
    assert collateral != empty(address), "exchange: zero collateral"
    assert operator != empty(address), "exchange: zero operator"
    assert liquidations != empty(address), "exchange: zero liquidations"
    assert checkpoints != empty(address), "exchange: zero checkpoints"
    eip712.__init__("perpdex", "1")
    COLLATERAL = IERC20(collateral)
    ledger.__init__(markets)
    LIQUIDATIONS = liquidations
    CHECKPOINTS = ICheckpoints(checkpoints)
    admin = msg.sender
    ledger.operator = operator
    ledger.fee_recipient = msg.sender
    ledger.withdrawal_delay = 300
    log OperatorChanged(operator=operator)
    log FeeRecipientChanged(recipient=msg.sender)
    log WithdrawalDelayChanged(delay=300)


# ---------------------------------------------------------------- administration


@external
def set_operator(operator: address):
    """
    @dev Replaces the operator key (for example after a key rotation).
    @param operator The new operator.
    """
    self._only_admin()
    assert operator != empty(address), "exchange: zero operator"
    ledger.operator = operator
    log OperatorChanged(operator=operator)


@external
def set_fee_recipient(recipient: address):
    """
    @dev Sets where `claim_fees` sends the protocol's fees.
    @param recipient The new recipient.
    """
    self._only_admin()
    assert recipient != empty(address), "exchange: zero recipient"
    ledger.fee_recipient = recipient
    log FeeRecipientChanged(recipient=recipient)


@external
def claim_fees():
    """
    @dev Sends the accrued trading fees to the fee recipient. Fees are the only funds
         that ever leave the vault other than by a trader's own withdrawal.
    """
    amount: uint256 = ledger.fee_pool
    ledger.fee_pool = 0
    recipient: address = ledger.fee_recipient
    assert extcall COLLATERAL.transfer(recipient, amount, default_return_value=True)
    log FeesClaimed(recipient=recipient, amount=amount)


# ---------------------------------------------------------------- custody


@external
def deposit(amount: uint256):
    """
    @dev Moves `amount` of the collateral token from the caller into their cross
         collateral, which is credited with what arrived (`Deposited.amount`).
    @param amount The amount, collateral units.
    """
    self._deposit(msg.sender, amount)


@external
def deposit_for(trader: address, amount: uint256):
    """
    @dev Moves `amount` of the collateral token from the caller into `trader`'s cross
         collateral (an onboarding service or a treasury funding a trader).
    @param trader The account credited.
    @param amount The amount, collateral units.
    """
    assert trader != empty(address), "exchange: zero trader"
    self._deposit(trader, amount)


@internal
def _deposit(trader: address, amount: uint256):
    """
    @dev Only the configured token can be credited: the vault pulls it itself from the
         caller, so a token sent any other way credits nobody.
    """
    received: uint256 = self._pull(amount)
    ledger._add_collateral(trader, convert(received, int256))
    log Deposited(trader=trader, amount=received)


@internal
def _pull(amount: uint256) -> uint256:
    """
    @dev Pulls `amount` of the collateral token from the caller and returns what the
         vault's balance grew by, which is what gets credited: a token that takes a fee
         on transfer (or turns one on later, as USDT can) would otherwise be credited
         more than the vault holds, and the last trader to withdraw would find it
         short. A check at deployment could not see a fee switched on later.
    """
    assert amount != 0, "exchange: zero amount"
    before: uint256 = staticcall COLLATERAL.balanceOf(self)
    assert extcall COLLATERAL.transferFrom(msg.sender, self, amount, default_return_value=True)
    received: uint256 = staticcall COLLATERAL.balanceOf(self) - before
    assert received != 0, "exchange: nothing received"
    return received


@external
def request_withdrawal(amount: uint256):
    """
    @dev Asks to withdraw `amount` of the caller's cross collateral once
         `withdrawal_delay` has passed. The delay lets fills the engine already matched
         settle first, so a withdrawal can never race the engine; the off-chain risk
         checks stop counting the amount as soon as they see the request. A new
         request replaces the pending one.
    @param amount The amount, collateral units.
    """
    assert amount != 0 and amount <= _MASK_128, "exchange: bad amount"
    ready_at: uint256 = block.timestamp + ledger.withdrawal_delay
    ledger._withdrawal[msg.sender] = amount | (ready_at << 128)
    log WithdrawalRequested(trader=msg.sender, amount=amount, ready_at=ready_at)


@external
def cancel_withdrawal():
    """
    @dev Drops the caller's pending withdrawal request.
    """
    assert ledger._withdrawal[msg.sender] != 0, "exchange: no withdrawal requested"
    ledger._withdrawal[msg.sender] = 0
    log WithdrawalCancelled(trader=msg.sender)


@external
def execute_withdrawal():
    """
    @dev Sends the caller the amount of their pending request once it is ready. Only
         free collateral can leave: every cross position must have a fresh price, and
         after the withdrawal the cross account, positions valued at those prices, must
         still meet initial margin. Anyone holding their own key can do this; nobody
         else can.
    """
    request: uint256 = ledger._withdrawal[msg.sender]
    assert request != 0, "exchange: no withdrawal requested"
    assert block.timestamp >= request >> 128, "exchange: withdrawal not ready"
    amount: uint256 = request & _MASK_128
    ledger._withdrawal[msg.sender] = 0
    self._require_fresh_cross(msg.sender)
    ledger._add_collateral(msg.sender, -convert(amount, int256))
    health: ledger.Health = ledger._cross_health(msg.sender, ledger._WITH_MAINTENANCE)
    assert health.equity >= convert(health.initial, int256), "exchange: withdrawal exceeds free collateral"
    assert extcall COLLATERAL.transfer(msg.sender, amount, default_return_value=True)
    log Withdrawn(trader=msg.sender, amount=amount)


@external
def set_withdrawal_delay(delay: uint256):
    """
    @dev Sets how long a withdrawal request waits, within bounds that keep withdrawals
         both safe from racing the engine and never blocked for long.
    @param delay Seconds, from `MIN_WITHDRAWAL_DELAY` to `MAX_WITHDRAWAL_DELAY`.
    """
    self._only_admin()
    assert delay >= MIN_WITHDRAWAL_DELAY and delay <= MAX_WITHDRAWAL_DELAY, "exchange: delay out of bounds"
    ledger.withdrawal_delay = delay
    log WithdrawalDelayChanged(delay=delay)


@external
def add_isolated_margin(market: uint256, amount: uint256):
    """
    @dev Moves cross collateral into the caller's open isolated position in `market`.
         Like a withdrawal, it needs a fresh price for every cross position, and the
         cross account must still meet initial margin afterwards.
    """
    self._require_fresh_cross(msg.sender)
    self._move_isolated_margin(msg.sender, market, convert(amount, int256))
    health: ledger.Health = ledger._cross_health(msg.sender, ledger._WITH_MAINTENANCE)
    assert health.equity >= convert(health.initial, int256), "exchange: cross margin too low"


@external
def remove_isolated_margin(market: uint256, amount: uint256):
    """
    @dev Moves collateral out of the caller's isolated position in `market` back to
         cross. The isolated position must still meet initial margin afterwards.
    """
    assert (ledger._risk(market)).fresh, "exchange: stale price"
    self._move_isolated_margin(msg.sender, market, -convert(amount, int256))
    key: uint256 = ledger._position_key(msg.sender, market)
    health: ledger.Health = ledger._isolated_health(ledger._positions[key], ledger._isolated_margin[key], market)
    assert health.equity >= convert(health.initial, int256), "exchange: isolated margin too low"


@internal
@view
def _require_fresh_cross(trader: address):
    """
    @dev Collateral leaves the cross scope (a withdrawal, margin moved to an isolated
         position) only while every cross position of `trader` has a fresh price: a
         stale market's last good price may hide a loss the trader can see and the
         contract cannot. Closing the position, or the feed coming back, lifts this.
    """
    markets: uint256 = ledger._accounts[trader] >> _CROSS_MARKETS_OFFSET
    for market: uint256 in range(MAX_MARKETS):
        if markets == 0:
            break
        if markets & 1 != 0:
            assert (ledger._risk(market)).fresh, "exchange: stale price"
        markets >>= 1


@internal
def _move_isolated_margin(trader: address, market: uint256, amount: int256):
    assert amount != 0, "exchange: zero amount"
    key: uint256 = ledger._position_key(trader, market)
    assert packing._is_isolated(ledger._positions[key]), "exchange: no isolated position"
    ledger._isolated_margin[key] = convert(convert(ledger._isolated_margin[key], int256) + amount, uint256)
    ledger._add_collateral(trader, -amount)
    log ledger.IsolatedMarginMoved(trader=trader, market=market, amount=amount)


# ---------------------------------------------------------------- cancellation


@external
def cancel_orders(nonces: DynArray[uint64, MAX_CANCELS]):
    """
    @dev Cancels the caller's orders with these nonces, whatever the operator does: a
         cancelled order can never fill again.
    @param nonces The nonces of the orders to cancel.
    """
    for nonce: uint64 in nonces:
        self._close_nonce(msg.sender, convert(nonce, uint256), empty(bytes32))
    self._set_order_map_flag(msg.sender)


@internal
def _close_nonce(trader: address, nonce: uint256, order_hash: bytes32):
    ledger._order_state[trader][nonce >> _NONCES_PER_WORD_LOG2] |= _CLOSED_BIT << self._state_shift(nonce)
    log OrderCancelled(trader=trader, nonce=nonce, order_hash=order_hash)


@internal
def _set_order_map_flag(trader: address):
    """
    @dev Marks that `trader`'s order state now lives in the map (see `_order_state`).
    """
    account: packing.Account = packing._unpack_account(ledger._accounts[trader])
    account.flags |= _ORDER_MAP_FLAG
    ledger._accounts[trader] = packing._pack_account(account)


@external
def cancel_order(order: orders.PackedOrder, trigger_price: uint64 = 0):
    """
    @dev Cancels one of the caller's orders given as signed (its packed form; the
         signature words are ignored): its nonce is closed, so it can never fill again.
    @param order The order.
    @param trigger_price Its trigger price if it is a trigger order (the event's hash
           is the order's only with it).
    """
    assert orders._trader(order.head) == msg.sender, "exchange: not the caller's order"
    nonce: uint256 = order.body >> orders.NONCE_OFFSET
    order_hash: bytes32 = message_hash_utils._to_typed_data_hash(eip712._domain_separator_v4(), orders._struct_hash(order.head, order.body, convert(trigger_price, uint256)))
    self._close_nonce(msg.sender, nonce, order_hash)
    self._set_order_map_flag(msg.sender)


@external
def raise_nonce_floor(nonce_floor: uint64):
    """
    @dev Cancels every order of the caller with a nonce below `nonce_floor` at once.
    @param nonce_floor The new lowest valid nonce; it can only go up.
    """
    account: packing.Account = packing._unpack_account(ledger._accounts[msg.sender])
    assert convert(nonce_floor, uint256) > account.nonce_floor, "exchange: nonce floor can only rise"
    account.nonce_floor = convert(nonce_floor, uint256)
    if account.nonce_floor >= _NONCE_FLOOR_FAST_LIMIT:
        # the nonce-order fast path raises the floor past the nonce it fills, which at
        # nonce 2**64 - 1 would not fit the field and revert the batch: from here on the
        # trader's fills use the map, which never moves the floor
        account.flags |= _ORDER_MAP_FLAG
    ledger._accounts[msg.sender] = packing._pack_account(account)
    log NonceFloorRaised(trader=msg.sender, nonce_floor=convert(nonce_floor, uint256))


# ---------------------------------------------------------------- settlement


@external
def settle(
    signed_orders: DynArray[orders.PackedOrder, MAX_ORDERS],
    fills: DynArray[uint256, MAX_FILLS],
    triggers: DynArray[uint256, MAX_TRIGGERS],
):
    """
    @dev Settles a batch of matched fills. Each order is sent and verified once; each
         fill names its maker and taker by index into `signed_orders`. A fill that
         breaks a signed term is skipped with `FillRejected`; an account whose margin
         fails the end-of-batch check reverts the whole batch with
         `MarginCheckFailed(address)`.

         A trigger order (trigger direction bits set in its head) is hashed with the
         trigger price of the next unread word of `triggers` if that word names it, else
         with zero: an operator who drops, moves or alters a trigger price only breaks
         that order's signature. A fill of a signed trigger order (as maker or taker)
         stands only while the price of the fill's market, as the end-of-batch margin
         check values positions (the oracle's, or its last good one while stale), is on
         the signed side of the trigger price; otherwise `REJECT_TRIGGER_NOT_REACHED`.
    @param signed_orders The orders the fills refer to, with their signatures, in the
           packed calldata form of `orders.PackedOrder`.
    @param fills The fills in match order, one word each as `orders.vy` lays out.
    @param triggers The trigger prices of the trigger orders, one word each as
           `orders.vy` lays out, by ascending order index.
    """
    assert msg.sender == ledger.operator, "exchange: caller is not the operator"
    assert not staticcall CHECKPOINTS.faulted(), "exchange: operator fault proven"
    tag: uint256 = ledger._batch_tag + 1
    ledger._batch_tag = tag
    tag <<= _TAG_OFFSET
    hashes: bytes32[MAX_ORDERS] = empty(bytes32[MAX_ORDERS])
    # bit i % 256 of word i // 256: order i carries its trader's valid signature and is
    # a plain order (`signed_ok`) or a trigger order (`signed_trigger`), so the fills of
    # plain orders pass with one test
    signed_ok: uint256[MAX_ORDERS // 256] = empty(uint256[MAX_ORDERS // 256])
    signed_trigger: uint256[MAX_ORDERS // 256] = empty(uint256[MAX_ORDERS // 256])
    separator: bytes32 = eip712._domain_separator_v4()
    # the next unread word of `triggers`
    cursor: uint256 = 0
    for i: uint256 in range(len(signed_orders), bound=MAX_ORDERS):
        packed: orders.PackedOrder = signed_orders[i]
        head: uint256 = packed.head
        trigger_price: uint256 = 0
        if head & orders.TRIGGER_FIELD != 0:
            if cursor < len(triggers) and triggers[cursor] & orders.MASK_16 == i:
                trigger_price = (triggers[cursor] >> orders.TRIGGER_PRICE_OFFSET) & orders.MASK_64
                cursor += 1
            ledger._trigger_prices[i] = trigger_price
        digest: bytes32 = message_hash_utils._to_typed_data_hash(separator, orders._struct_hash(head, packed.body, trigger_price))
        hashes[i] = digest
        if self._signed_by(digest, head, packed.r, packed.s):
            if head & orders.TRIGGER_FIELD == 0:
                signed_ok[i >> 8] |= 1 << (i & 255)
            else:
                signed_trigger[i >> 8] |= 1 << (i & 255)

    accounts: DynArray[address, 2 * MAX_FILLS] = []
    # every market a margin check below needs a price for: those the fills touched
    # and those of the touched traders' other cross positions
    markets: uint256 = 0
    # markets whose risk words this batch cached, cleared before returning
    loaded: uint256 = 0
    # per market the batch loaded: its parameter word and its funding index as the
    # funding field of a position word
    market_params: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    funding_fields: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    fees: uint256 = 0
    # fill-or-kill orders whose first fill this batch settled (see `ledger._fok_orders`)
    fok_count: uint256 = 0
    for i: uint256 in range(len(fills), bound=MAX_FILLS):
        word: uint256 = fills[i]
        m: uint256 = word & orders.MASK_16
        t: uint256 = (word >> orders.FILL_TAKER_OFFSET) & orders.MASK_16
        if m >= len(signed_orders) or t >= len(signed_orders) or m == t:
            log FillRejected(index=i, maker_hash=empty(bytes32), taker_hash=empty(bytes32), reason=REJECT_BAD_INDEX)
            continue
        fill: Fill = Fill(
            price=(word >> orders.FILL_PRICE_OFFSET) & orders.MASK_64,
            size=(word >> orders.FILL_SIZE_OFFSET) & orders.MASK_64,
            market=(signed_orders[m].head >> orders.MARKET_OFFSET) & orders.MASK_32,
            params=0,
            funding=0,
        )
        maker: Side = empty(Side)
        taker: Side = empty(Side)
        if fill.market < MAX_MARKETS:
            fill.params = market_params[fill.market]
            if fill.params == 0:
                fill.params = self._load_market(fill.market)
                market_params[fill.market] = fill.params
                funding_fields[fill.market] = ledger._risk_cache[fill.market] & packing._FUNDING_FIELD
                loaded |= 1 << fill.market
            fill.funding = funding_fields[fill.market]
        reason: uint8 = 0
        if (signed_ok[m >> 8] >> (m & 255)) & (signed_ok[t >> 8] >> (t & 255)) & 1 == 0:
            # a trigger order among them, or a signature that is not its trader's
            reason = REJECT_BAD_SIGNATURE
            signed: uint256 = signed_ok[m >> 8] | signed_trigger[m >> 8]
            if (signed >> (m & 255)) & ((signed_ok[t >> 8] | signed_trigger[t >> 8]) >> (t & 255)) & 1 != 0:
                reason = self._trigger_reason(signed_orders[m].head, m, signed_orders[t].head, t, fill.market)
        if reason == 0:
            reason = self._check_terms(signed_orders[m], signed_orders[t], fill)
        if reason == 0:
            maker = self._load_side(signed_orders[m], hashes[m], fill)
            reason = maker.reason
        if reason == 0:
            taker = self._load_side(signed_orders[t], hashes[t], fill)
            reason = taker.reason
            if reason == 0 and maker.trader == taker.trader:
                # both sides would write the same words; the engine prevents self-trades
                reason = REJECT_SELF_TRADE
            if (taker.head >> orders.TIME_IN_FORCE_OFFSET) & orders.MASK_8 == orders.TIF_FOK:
                if reason == 0 and fill.size != taker.size and not self._partly_filled(taker):
                    # a fill-or-kill order fills whole within one batch or not at all:
                    # its first fill stands only if the batch's fills naming it complete it
                    reason = REJECT_FILL_OR_KILL
                    total: uint256 = fill.size
                    for j: uint256 in range(i + 1, len(fills), bound=MAX_FILLS):
                        if (fills[j] >> orders.FILL_TAKER_OFFSET) & orders.MASK_16 == t:
                            total += (fills[j] >> orders.FILL_SIZE_OFFSET) & orders.MASK_64
                    if total == taker.size:
                        reason = 0
                        # checked closed after the batch: a later fill of it may be skipped
                        ledger._fok_orders[fok_count] = t
                        fok_count += 1
        if reason != 0:
            log FillRejected(index=i, maker_hash=hashes[m], taker_hash=hashes[t], reason=reason)
            continue

        # exact: the listing made tick_size * lot_size a multiple of SIZE_SCALE
        notional: uint256 = fill.size * fill.price // units.SIZE_SCALE
        maker_fee: uint256 = margin._fee(notional, (fill.params >> params.MAKER_FEE_OFFSET) & _MASK_32)
        taker_fee: uint256 = margin._fee(notional, fill.params >> params.TAKER_FEE_OFFSET)
        touched: uint256 = self._fill_side(maker, fill, notional, maker_fee, tag)
        if touched & _FIRST_TOUCH != 0:
            accounts.append(maker.trader)
        markets |= touched
        touched = self._fill_side(taker, fill, notional, taker_fee, tag)
        if touched & _FIRST_TOUCH != 0:
            accounts.append(taker.trader)
        markets |= touched
        fees += maker_fee + taker_fee
        log Filled(
            maker=maker.trader,
            taker=taker.trader,
            market=fill.market,
            maker_hash=maker.order_hash,
            taker_hash=taker.order_hash,
            price=fill.price,
            size=fill.size,
            maker_fee=maker_fee,
            taker_fee=taker_fee,
        )

    if fees != 0:
        ledger.fee_pool += fees
    for k: uint256 in range(fok_count, bound=MAX_FILLS):
        packed: orders.PackedOrder = signed_orders[ledger._fok_orders[k]]
        nonce: uint256 = packed.body >> orders.NONCE_OFFSET
        trader: address = orders._trader(packed.head)
        if (ledger._order_state[trader][nonce >> _NONCES_PER_WORD_LOG2] >> self._state_shift(nonce)) & _CLOSED_BIT == 0:
            raw_revert(concat(method_id("FillOrKillIncomplete(address)"), abi_encode(trader)))
    markets &= _MASK_64
    self._load_markets(markets & ~loaded)
    loaded |= markets
    stale: uint256 = ledger._stale_markets
    for trader: address in accounts:
        self._check_account(trader, stale)
    for market: uint256 in range(MAX_MARKETS):
        if loaded == 0:
            break
        if loaded & 1 != 0:
            ledger._risk_cache[market] = 0
        loaded >>= 1
    if stale != 0:
        ledger._stale_markets = 0


@internal
@view
def _signed_by(digest: bytes32, head: uint256, r: uint256, s: uint256) -> bool:
    """
    @dev Whether (v, r, s), v from the order's head word, is the signature of `digest`
         by the trader the head names, with snekmate's low-s bound (EIP-2). The
         precompile is called directly rather than through snekmate's `_recover_vrs`,
         which reverts when recovery fails (an `r` that is no point's x coordinate):
         here a signature that cannot be recovered rejects its fills instead of
         reverting the batch. A failed recovery returns the zero address, which is never
         a valid signer, even of an order naming the zero address.
    """
    v: uint256 = head >> orders.V_OFFSET
    if v != 27 and v != 28:
        return False
    if r == 0 or r >= _CURVE_ORDER or s == 0 or s > ecdsa._MALLEABILITY_THRESHOLD:
        return False
    signer: address = ecrecover(digest, v, r, s)
    return signer == orders._trader(head) and signer != empty(address)


@internal
@view
def _trigger_reason(maker_head: uint256, maker_index: uint256, taker_head: uint256, taker_index: uint256, market: uint256) -> uint8:
    """
    @dev Returns `REJECT_TRIGGER_NOT_REACHED` if the maker or the taker of a fill in
         `market` is a trigger order that `market`'s price, as the batch loaded it for
         the margin checks, does not satisfy; else 0. A market the batch could not load
         has no price (zero); its fills are skipped as `REJECT_MARKET` anyway.
    """
    price: uint256 = ledger._risk_cache[market] & _MASK_64
    if maker_head & orders.TRIGGER_FIELD != 0 and not orders._trigger_reached(maker_head, ledger._trigger_prices[maker_index], price):
        return REJECT_TRIGGER_NOT_REACHED
    if taker_head & orders.TRIGGER_FIELD != 0 and not orders._trigger_reached(taker_head, ledger._trigger_prices[taker_index], price):
        return REJECT_TRIGGER_NOT_REACHED
    return 0


@internal
@view
def _check_terms(maker: orders.PackedOrder, taker: orders.PackedOrder, fill: Fill) -> uint8:
    """
    @dev Returns why `fill` breaks a term both orders share or a market rule, or 0. Reads
         the fields it needs straight from the packed orders.
    """
    if fill.market != (taker.head >> orders.MARKET_OFFSET) & orders.MASK_32 or fill.params == 0:
        return REJECT_MARKET
    maker_buys: bool = (maker.head >> orders.IS_BUY_OFFSET) & 1 != 0
    if maker_buys == ((taker.head >> orders.IS_BUY_OFFSET) & 1 != 0):
        return REJECT_SAME_SIDE
    maker_limit: uint256 = (maker.body >> orders.LIMIT_PRICE_OFFSET) & orders.MASK_64
    taker_limit: uint256 = (taker.body >> orders.LIMIT_PRICE_OFFSET) & orders.MASK_64
    if maker_buys:
        if fill.price > maker_limit or fill.price < taker_limit:
            return REJECT_PRICE_LIMIT
    elif fill.price > taker_limit or fill.price < maker_limit:
        return REJECT_PRICE_LIMIT
    word: uint256 = fill.params
    if fill.size == 0 or fill.size % ((word >> params.LOT_OFFSET) & _MASK_64) != 0 or fill.price % (word & _MASK_64) != 0:
        return REJECT_OFF_GRID
    if (fill.size >> _FILL_SIZE_BITS) | (fill.price >> _FILL_PRICE_BITS) != 0:
        return REJECT_OUT_OF_RANGE
    if (maker.body >> orders.EXPIRY_OFFSET) & orders.MASK_64 <= block.timestamp:
        return REJECT_EXPIRED
    if (taker.body >> orders.EXPIRY_OFFSET) & orders.MASK_64 <= block.timestamp:
        return REJECT_EXPIRED
    # a post-only order only rests (maker); an immediate one never rests (taker)
    maker_tif: uint256 = (maker.head >> orders.TIME_IN_FORCE_OFFSET) & orders.MASK_8
    taker_tif: uint256 = (taker.head >> orders.TIME_IN_FORCE_OFFSET) & orders.MASK_8
    if maker_tif != orders.TIF_GTC and maker_tif != orders.TIF_POST_ONLY:
        return REJECT_TIME_IN_FORCE
    if taker_tif != orders.TIF_GTC and taker_tif != orders.TIF_IOC and taker_tif != orders.TIF_FOK:
        return REJECT_TIME_IN_FORCE
    if (word >> params.MAKER_FEE_OFFSET) & _MASK_32 > (maker.head >> orders.MAX_FEE_OFFSET) & orders.MASK_32:
        return REJECT_FEE_ABOVE_MAX
    if word >> params.TAKER_FEE_OFFSET > (taker.head >> orders.MAX_FEE_OFFSET) & orders.MASK_32:
        return REJECT_FEE_ABOVE_MAX
    return 0


@internal
@view
def _load_side(packed: orders.PackedOrder, order_hash: bytes32, fill: Fill) -> Side:
    """
    @dev Reads one side of a fill (the order's fields the settlement needs and the three
         storage words of its trader it reads and writes) and checks the order's own
         terms: it must be open, have the fill's size left, keep to its reduce-only flag
         and to the margin mode of the trader's open position. `reason` says why not.
    """
    trader: address = orders._trader(packed.head)
    nonce: uint256 = packed.body >> orders.NONCE_OFFSET
    side: Side = Side(
        trader=trader,
        order_hash=order_hash,
        head=packed.head,
        size=packed.body & orders.MASK_64,
        nonce=nonce,
        account=ledger._accounts[trader],
        position=ledger._positions[convert(trader, uint256) | (fill.market << ledger._MARKET_KEY_OFFSET)],
        state=0,
        reason=0,
    )
    if nonce < (side.account >> _NONCE_FLOOR_OFFSET) & _MASK_64:
        side.reason = REJECT_ORDER_CLOSED
        return side
    # a trader who never cancelled by nonce nor filled out of nonce order has nothing
    # in the map: every nonce from the floor up is open and unfilled
    filled: uint256 = fill.size
    if (side.account >> _FLAGS_OFFSET) & _ORDER_MAP_FLAG != 0:
        side.state = ledger._order_state[trader][nonce >> _NONCES_PER_WORD_LOG2]
        state: uint256 = side.state >> self._state_shift(nonce)
        if state & _CLOSED_BIT != 0:
            side.reason = REJECT_ORDER_CLOSED
            return side
        if state & _PARTIAL_BIT != 0:
            filled += ledger._order_filled[order_hash]
    if filled > side.size:
        side.reason = REJECT_OVERFILL
        return side
    # the quick range test: the size field's top two bits are equal (|size| < 2**62) and
    # so are the quote field's top three (|quote| < 2**93); unsafe: `word >> 62` is far
    # below 2**256 - 1
    word: uint256 = side.position
    if (unsafe_add(word >> 62, 1) & 2) | (unsafe_add(word >> 157, 1) & 6) != 0:
        if not self._still_fits(word, packed.head, fill):
            side.reason = REJECT_OUT_OF_RANGE
            return side
    mode: uint256 = (packed.head >> orders.MARGIN_MODE_OFFSET) & orders.MASK_8
    if mode > orders.MARGIN_ISOLATED:
        side.reason = REJECT_MARGIN_MODE
        return side
    position_size: int256 = packing._position_size(side.position)
    if position_size != 0:
        if packing._is_isolated(side.position) != (mode == orders.MARGIN_ISOLATED):
            side.reason = REJECT_MARGIN_MODE
            return side
    elif side.position != 0:
        # a flat word that is not empty is an isolated position that closed below zero
        # earlier in this batch: its deficit is on record for the end-of-batch check,
        # which reverts the batch. A fill here would reopen the market on that word and
        # hide the deficit, in a cross position (which would adopt the loss) or in an
        # isolated one (whose new margin, moved from cross, would pay it).
        side.reason = REJECT_ISOLATED_DEFICIT
        return side
    if (packed.head >> orders.REDUCE_ONLY_OFFSET) & 1 != 0:
        # a reduce-only order may only shrink an opposite position, never flip it
        if (packed.head >> orders.IS_BUY_OFFSET) & 1 != 0:
            position_size = -position_size
        if position_size < convert(fill.size, int256):
            side.reason = REJECT_REDUCE_ONLY
            return side
    return side


@internal
@pure
def _partly_filled(side: Side) -> bool:
    """
    @dev Whether the order of `side` had a part filled before this fill (its partial bit;
         a trader without the order map has none).
    """
    if (side.account >> _FLAGS_OFFSET) & _ORDER_MAP_FLAG == 0:
        return False
    return (side.state >> self._state_shift(side.nonce)) & _PARTIAL_BIT != 0


@internal
@pure
def _still_fits(word: uint256, head: uint256, fill: Fill) -> bool:
    """
    @dev Whether a position too large for the quick range test still fits its word after
         the fill: its size within int64, its quote within `_MAX_QUOTE` or no farther
         from zero than before (a fill that reduces a position is never refused).
    """
    size: int256 = 0
    quote: int256 = 0
    isolated: bool = False
    size, quote, isolated = packing._unpack_position(word)
    # exact: the fill passed the grid test; below 2**92
    traded: int256 = convert(fill.size * fill.price // units.SIZE_SCALE, int256)
    new_quote: int256 = quote + traded
    if (head >> orders.IS_BUY_OFFSET) & 1 != 0:
        size += convert(fill.size, int256)
        # the notional and at most as much again in fee
        new_quote = quote - 2 * traded
    else:
        size -= convert(fill.size, int256)
    return abs(size) <= _MAX_SIZE and (abs(new_quote) < _MAX_QUOTE or abs(new_quote) <= abs(quote))


@internal
@pure
def _state_shift(nonce: uint256) -> uint256:
    """
    @dev The bit offset of `nonce`'s two state bits in its word.
    """
    return (nonce & ((1 << _NONCES_PER_WORD_LOG2) - 1)) << 1


@internal
def _fill_side(side: Side, fill: Fill, notional: uint256, fee: uint256, tag: uint256) -> uint256:
    """
    @dev Applies one side of a checked fill to the order's trader. Returns the bit set
         of the fill's market and of the trader's cross markets (a cross position only
         leaves that set when a fill closes it, so the union over a batch covers the
         markets before and after), with `_FIRST_TOUCH` if the batch touched this
         trader for the first time.

         The order's fill state grows by the fill (a completed order keeps only its
         closed bit, its partial amount is cleared and refunded). The quote leg moves
         by the exact notional and the fee; an isolated position that grows takes the
         initial margin of its growth (and the fee) from cross collateral; a position
         that becomes flat realises its quote (and margin) into cross collateral.
         Before the first change to an account or position, its pre-batch word is
         kept in transient storage for the end-of-batch check.
    """
    trader: address = side.trader
    market: uint256 = fill.market
    key: uint256 = convert(trader, uint256) | (market << ledger._MARKET_KEY_OFFSET)

    # pre-batch snapshot
    seen: uint256 = ledger._seen[trader]
    first_touch: bool = seen >> _TAG_OFFSET != tag >> _TAG_OFFSET
    if first_touch:
        seen = 0
        ledger._pre_account[trader] = side.account
    if (seen >> market) & 1 == 0:
        ledger._pre_position[key] = side.position
        if packing._is_isolated(side.position):
            ledger._pre_isolated_margin[key] = ledger._isolated_margin[key]
    account: packing.Account = packing._unpack_account(side.account)

    # order fill state: an order filled whole at the nonce floor just raises the floor,
    # in the account word this fill writes anyway; anything else uses the map
    if account.flags & _ORDER_MAP_FLAG == 0 and side.nonce == account.nonce_floor and fill.size == side.size:
        account.nonce_floor += 1
    else:
        account.flags |= _ORDER_MAP_FLAG
        offset: uint256 = self._state_shift(side.nonce)
        state: uint256 = side.state
        filled: uint256 = fill.size
        if (state >> offset) & _PARTIAL_BIT != 0:
            filled += ledger._order_filled[side.order_hash]
        if filled == side.size:
            state = (state & ~(_PARTIAL_BIT << offset)) | (_CLOSED_BIT << offset)
            if filled != fill.size:
                ledger._order_filled[side.order_hash] = 0
        else:
            state |= _PARTIAL_BIT << offset
            ledger._order_filled[side.order_hash] = filled
        ledger._order_state[trader][side.nonce >> _NONCES_PER_WORD_LOG2] = state

    # position
    old_size: int256 = 0
    quote: int256 = 0
    isolated: bool = False
    old_size, quote, isolated = packing._unpack_position(side.position)
    if old_size == 0:
        isolated = (side.head >> orders.MARGIN_MODE_OFFSET) & orders.MASK_8 == orders.MARGIN_ISOLATED
    elif (side.position ^ fill.funding) & packing._FUNDING_FIELD != 0:
        quote += ledger._settle_funding(trader, market, side.position, packing._funding_snapshot(fill.funding))
    new_size: int256 = old_size
    if (side.head >> orders.IS_BUY_OFFSET) & 1 != 0:
        new_size += convert(fill.size, int256)
        quote -= convert(notional + fee, int256)
    else:
        new_size -= convert(fill.size, int256)
        quote += convert(notional, int256) - convert(fee, int256)

    if isolated:
        seen |= _ISOLATED_SEEN
        grown: uint256 = self._growth(old_size, new_size)
        if grown != 0:
            initial_margin_ppm: uint256 = (fill.params >> params.INITIAL_MARGIN_OFFSET) & _MASK_32
            moved: uint256 = margin._requirement(convert(grown, int256), fill.price, initial_margin_ppm) + fee
            ledger._isolated_margin[key] += moved
            account.collateral -= convert(moved, int256)
            log ledger.IsolatedMarginMoved(trader=trader, market=market, amount=convert(moved, int256))
        if new_size == 0:
            released: int256 = convert(ledger._isolated_margin[key], int256) + quote
            if released >= 0:
                ledger._isolated_margin[key] = 0
                account.collateral += released
                log ledger.IsolatedMarginMoved(trader=trader, market=market, amount=-released)
                quote = 0
            # else the flat position keeps its loss on record and the end-of-batch
            # check of this isolated position reverts the batch
    elif old_size == 0 or new_size == 0:
        if new_size == 0:
            account.collateral += quote
            quote = 0
        account.cross_markets ^= 1 << market
    ledger._positions[key] = packing._pack_position(new_size, quote, isolated, fill.funding)
    word: uint256 = packing._pack_account(account)
    if word != side.account:
        ledger._accounts[trader] = word
    ledger._seen[trader] = seen | (1 << market) | tag
    touched: uint256 = account.cross_markets | (1 << market)
    if first_touch:
        touched |= _FIRST_TOUCH
    return touched


@internal
@pure
def _growth(old_size: int256, new_size: int256) -> uint256:
    """
    @dev By how much the exposure of a position grew: the size added on the same side,
         or the whole new position when it flipped side.
    """
    if old_size == 0 or (old_size > 0) != (new_size > 0):
        return convert(abs(new_size), uint256)
    if abs(new_size) > abs(old_size):
        return convert(abs(new_size) - abs(old_size), uint256)
    return 0


# ---------------------------------------------------------------- liquidation


@external
def fund_insurance(amount: uint256):
    """
    @dev Adds `amount` of the collateral token from the caller to the insurance fund
         (what arrived, see `_pull`).
    """
    received: uint256 = self._pull(amount)
    ledger.insurance_fund += received
    log InsuranceFunded(funder=msg.sender, amount=received)


@external
def liquidate(trader: address, market: uint256) -> uint256:
    """
    @dev One tiered liquidation step (see `Liquidations.liquidate`).
    """
    return abi_decode(raw_call(LIQUIDATIONS, msg.data, max_outsize=32, is_delegate_call=True), uint256)


@external
def deleverage(trader: address, market: uint256, counterparty: address) -> uint256:
    """
    @dev Auto-deleveraging of a bankrupt position (see `Liquidations.deleverage`).
    """
    return abi_decode(raw_call(LIQUIDATIONS, msg.data, max_outsize=32, is_delegate_call=True), uint256)


# ---------------------------------------------------------------- risk checks


@internal
def _check_account(trader: address, stale: uint256):
    """
    @dev The end-of-batch check of one touched trader, cross account first, then each
         isolated position the batch touched. The pre-batch state is only read when
         the account fails initial margin after the batch, or it holds a cross
         position in a market whose price is stale (bit set `stale`), touched or not,
         or the batch touched it there: then only reducing risk passes, valued at the
         last good price, which may hide a loss and so backs no new risk anywhere in
         the account. Every cross market of a touched trader was loaded, so `stale`
         knows each of them.
    """
    seen: uint256 = ledger._seen[trader] & _MASK_128
    post: ledger.Health = ledger._cross_health(trader, 0)
    if post.equity < convert(post.initial, int256) or (stale != 0 and (seen | (ledger._accounts[trader] >> _CROSS_MARKETS_OFFSET)) & stale != 0):
        self._require_acceptable(
            trader,
            ledger._cross_health(trader, (seen & _MASK_64) | ledger._BEFORE_BATCH | ledger._WITH_MAINTENANCE),
            ledger._cross_health(trader, ledger._WITH_MAINTENANCE),
            self._cross_reduced(trader, seen),
        )
    if seen & _ISOLATED_SEEN == 0:
        return
    markets: uint256 = seen & _MASK_64
    for market: uint256 in range(MAX_MARKETS):
        if markets == 0:
            break
        if markets & 1 != 0:
            key: uint256 = ledger._position_key(trader, market)
            # the isolated part of the position before and after: flat when that side
            # of the batch was cross (a position can close and reopen in the other mode)
            pre_word: uint256 = ledger._pre_position[key]
            pre_margin: uint256 = 0
            if packing._is_isolated(pre_word):
                pre_margin = ledger._pre_isolated_margin[key]
            else:
                pre_word = 0
            word: uint256 = ledger._positions[key]
            if not packing._is_isolated(word):
                word = 0
            isolated_post: ledger.Health = ledger._isolated_health(word, ledger._isolated_margin[key], market)
            if isolated_post.equity < convert(isolated_post.initial, int256) or (stale >> market) & 1 != 0:
                self._require_acceptable(
                    trader,
                    ledger._isolated_health(pre_word, pre_margin, market),
                    isolated_post,
                    ledger._reduced(packing._position_size(pre_word), packing._position_size(word)),
                )
        markets >>= 1


@internal
@pure
def _require_acceptable(trader: address, pre: ledger.Health, post: ledger.Health, risk_reduced: bool):
    """
    @dev The rule for an account below initial margin after a batch: it passes only if
         the batch reduced its risk, left its equity non-negative and did not lower its
         margin ratio (equity / maintenance requirement). Otherwise the batch reverts
         with the custom error `MarginCheckFailed(address)`.
    """
    # cross-multiplied ratio comparison: post.equity / post.maintenance
    # >= pre.equity / pre.maintenance, without dividing
    if risk_reduced and post.equity >= 0 and post.equity * convert(pre.maintenance, int256) >= pre.equity * convert(post.maintenance, int256):
        return
    raw_revert(concat(method_id("MarginCheckFailed(address)"), abi_encode(trader)))


@internal
@view
def _cross_reduced(trader: address, seen: uint256) -> bool:
    """
    @dev Whether every cross position of `trader` the batch touched only shrank.
    """
    markets: uint256 = seen & _MASK_64
    for market: uint256 in range(MAX_MARKETS):
        if markets == 0:
            break
        if markets & 1 != 0:
            # the cross part of the position before and after: flat when that side of
            # the batch was isolated
            key: uint256 = ledger._position_key(trader, market)
            pre: uint256 = ledger._pre_position[key]
            post: uint256 = ledger._positions[key]
            pre_size: int256 = 0
            post_size: int256 = 0
            if not packing._is_isolated(pre):
                pre_size = packing._position_size(pre)
            if not packing._is_isolated(post):
                post_size = packing._position_size(post)
            if not ledger._reduced(pre_size, post_size):
                return False
        markets >>= 1
    return True


@internal
def _load_market(market: uint256) -> uint256:
    """
    @dev Reads `market` from MARKETS into the batch's risk cache; returns its parameter
         word, zero (and caches nothing) if it is not listed.
    """
    risk: IMarkets.Risk = ledger._risk(market)
    if risk.params == 0:
        return 0
    ledger._risk_cache[market] = ledger._risk_word(risk)
    if not risk.fresh:
        ledger._stale_markets |= 1 << market
    return risk.params


@internal
def _load_markets(markets: uint256):
    """
    @dev Loads each market of the bit set `markets` for the batch's margin checks.
    """
    bits: uint256 = markets
    for market: uint256 in range(MAX_MARKETS):
        if bits == 0:
            break
        if bits & 1 != 0:
            self._load_market(market)
        bits >>= 1


# ---------------------------------------------------------------- views


@external
@view
def account(trader: address) -> (int256, uint256, uint256):
    """
    @dev The cross account of `trader`.
    @return (collateral, nonce floor, bit set of markets with an open cross position).
    """
    account: packing.Account = packing._unpack_account(ledger._accounts[trader])
    return (account.collateral, account.nonce_floor, account.cross_markets)


@external
@view
def position(trader: address, market: uint256) -> (int256, int256, bool, uint256):
    """
    @dev The position of `trader` in `market`.
    @return (signed size, quote leg, isolated, isolated margin).
    """
    size: int256 = 0
    quote: int256 = 0
    isolated: bool = False
    key: uint256 = ledger._position_key(trader, market)
    size, quote, isolated = packing._unpack_position(ledger._positions[key])
    return (size, quote, isolated, ledger._isolated_margin[key])


@external
@view
def funding_owed(trader: address, market: uint256) -> (int256, int256):
    """
    @dev The funding state of `trader`'s position in `market`.
    @return (the funding index it settled up to, what it would receive (> 0) or pay
            (< 0) if settled now).
    """
    word: uint256 = ledger._positions[ledger._position_key(trader, market)]
    snapshot: int256 = packing._funding_snapshot(word)
    index: int256 = ledger._risk(market).funding_index
    return (snapshot, margin._funding_payment(packing._position_size(word), index - snapshot))


@external
@view
def cross_health(trader: address) -> ledger.Health:
    """
    @dev Equity and initial and maintenance requirements of `trader`'s cross account at
         the oracle prices.
    """
    return ledger._cross_health(trader, ledger._WITH_MAINTENANCE)


@external
@view
def isolated_health(trader: address, market: uint256) -> ledger.Health:
    """
    @dev Equity and requirements of `trader`'s isolated position in `market`.
    """
    key: uint256 = ledger._position_key(trader, market)
    return ledger._isolated_health(ledger._positions[key], ledger._isolated_margin[key], market)


@external
@view
def order_state(trader: address, nonce: uint256, order_hash: bytes32) -> (uint256, bool):
    """
    @dev The fill state of an order.
    @return (amount filled while partially filled, closed: fully filled or cancelled,
            including by the nonce floor).
    """
    state: uint256 = ledger._order_state[trader][nonce >> _NONCES_PER_WORD_LOG2] >> self._state_shift(nonce)
    closed: bool = state & _CLOSED_BIT != 0 or nonce < packing._unpack_account(ledger._accounts[trader]).nonce_floor
    filled: uint256 = 0
    if state & _PARTIAL_BIT != 0:
        filled = ledger._order_filled[order_hash]
    return (filled, closed)


@external
@view
def domain_separator() -> bytes32:
    return eip712._domain_separator_v4()


# ---------------------------------------------------------------- access


@internal
def _only_admin():
    assert msg.sender == admin, "exchange: caller is not the admin"
