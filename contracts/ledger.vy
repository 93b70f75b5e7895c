# pragma version ~=0.4.3
"""
@title The Exchange's ledger: its storage and the account math shared by its parts
@custom:contract-name ledger
@license MIT
@notice Every storage variable of the Exchange lives here, so that the Exchange and
        its extension `Liquidations` (which runs on the Exchange's storage through
        `DELEGATECALL`) lay their storage out identically: both `initializes` this
        module and declare no storage of their own. A test compares the two
        compiled layouts. The internal functions are what both need: margin health
        at the Markets' prices with funding, funding settlement, and moving a
        position outside the order path (liquidation, deleveraging).
"""

from .interfaces import IMarkets
from . import margin
from . import packing
from . import params
from . import units


# @dev The bound of the per-market loops: market ids are below it (Markets).
MAX_MARKETS: constant(uint256) = 64

# @dev A market's risk word, as `_risk_cache` holds it for a batch: its price
#      (0..63), initial (64..95) and maintenance (96..127) margin fractions, and its
#      funding index (int88 at 160..247, where a position word keeps its snapshot).
_RISK_INITIAL_OFFSET: constant(uint256) = 64
_RISK_MAINTENANCE_OFFSET: constant(uint256) = 96
_MASK_32: constant(uint256) = (1 << 32) - 1
_MASK_64: constant(uint256) = (1 << 64) - 1
_MASK_128: constant(uint256) = (1 << 128) - 1

# @dev A position's key: the trader's address in the low 160 bits, the market above.
_MARKET_KEY_OFFSET: constant(uint256) = 160

# @dev Options of `_cross_health`: read the pre-batch state of the markets whose bits
#      are set, and sum the maintenance requirement too (only the slow path of the
#      end-of-batch check and the views need it).
_BEFORE_BATCH: constant(uint256) = 1 << 255
_WITH_MAINTENANCE: constant(uint256) = 1 << 254


struct Health:
    equity: int256
    initial: uint256
    maintenance: uint256


event IsolatedMarginMoved:
    trader: indexed(address)
    market: indexed(uint256)
    amount: int256


event FundingSettled:
    trader: indexed(address)
    market: indexed(uint256)
    amount: int256
    index: int256


event InsuranceDrawn:
    trader: indexed(address)
    market: indexed(uint256)
    amount: uint256


event Liquidated:
    trader: indexed(address)
    liquidator: indexed(address)
    market: indexed(uint256)
    size: int256
    price: uint256
    penalty: uint256
    reward: uint256
    full: bool


event Deleveraged:
    trader: indexed(address)
    counterparty: indexed(address)
    market: indexed(uint256)
    size: int256
    price: uint256
    loss: uint256


# @dev The Markets registry: markets, prices and funding indexes.
MARKETS: public(immutable(IMarkets))

operator: public(address)
fee_recipient: public(address)
withdrawal_delay: public(uint256)
fee_pool: public(uint256)
insurance_fund: public(uint256)

_accounts: HashMap[address, uint256]
# positions and isolated margins by `_position_key(trader, market)`: one hash per
# access instead of two
_positions: HashMap[uint256, uint256]
_isolated_margin: HashMap[uint256, uint256]
_order_state: HashMap[address, HashMap[uint256, uint256]]
_order_filled: HashMap[bytes32, uint256]
# pending withdrawal per trader: amount (bits 0..127) | ready-at timestamp (128..255)
_withdrawal: HashMap[address, uint256]

# @dev Batch scratch space, empty between calls: a settle clears what it wrote before
#      returning, so a second settle in the same transaction starts clean.
# per market: its packed parameter word (params.vy) and its risk word (see
# `_RISK_INITIAL_OFFSET`), read from MARKETS once for the batch
_risk_cache: transient(HashMap[uint256, uint256])
# bit m: market m's price is stale (the last good price stands in)
_stale_markets: transient(uint256)
# per trader, as `_TAG_OFFSET` describes
_seen: transient(HashMap[address, uint256])
# one more for each settle of a transaction
_batch_tag: transient(uint256)
_pre_account: transient(HashMap[address, uint256])
_pre_position: transient(HashMap[uint256, uint256])
_pre_isolated_margin: transient(HashMap[uint256, uint256])
# the batch's fill-or-kill orders started by a fill that did not complete them, by index
# in its order list; `settle` counts them, so nothing needs clearing
_fok_orders: transient(HashMap[uint256, uint256])
# per index in the batch's order list: the trigger price a trigger order's signature was
# checked with; `settle` writes it for each trigger order before reading it, so nothing
# needs clearing
_trigger_prices: transient(HashMap[uint256, uint256])

@deploy
def __init__(markets: address):
    assert markets != empty(address), "ledger: zero markets"
    MARKETS = IMarkets(markets)


@internal
@pure
def _position_key(trader: address, market: uint256) -> uint256:
    """
    @dev The key of `trader`'s position in `market`: the address in the low 160 bits
         and the market above (the hot path spells the same expression inline).
    """
    return convert(trader, uint256) | (market << _MARKET_KEY_OFFSET)


@internal
@pure
def _reduced(pre_size: int256, post_size: int256) -> bool:
    """
    @dev Whether a position only shrank (or stayed), without flipping side.
    """
    if post_size == 0:
        return True
    return (pre_size > 0) == (post_size > 0) and abs(post_size) <= abs(pre_size)


@internal
def _add_collateral(trader: address, amount: int256):
    account: packing.Account = packing._unpack_account(self._accounts[trader])
    account.collateral += amount
    self._accounts[trader] = packing._pack_account(account)


@internal
@view
def _risk(market: uint256) -> IMarkets.Risk:
    return staticcall MARKETS.risk(market)


@internal
def _settle_funding(trader: address, market: uint256, word: uint256, index: int256) -> int256:
    """
    @dev The funding a non-flat position word owes (< 0) or is owed since its
         snapshot, to add to its quote leg; logged whenever the snapshot moves, even
         when the amount rounds to zero (the event carries the new snapshot, which the
         off-chain fold needs to round the next payment as the contract does).
    """
    snapshot: int256 = packing._funding_snapshot(word)
    if snapshot == index:
        return 0
    amount: int256 = margin._funding_payment(packing._position_size(word), index - snapshot)
    log FundingSettled(trader=trader, market=market, amount=amount, index=index)
    return amount


@internal
@view
def _cross_health(trader: address, options: uint256) -> Health:
    """
    @dev Equity and margin requirements of `trader`'s cross account: collateral plus
         every cross position valued at the mark price. The maintenance requirement is
         only summed with `_WITH_MAINTENANCE` in `options`. With `_BEFORE_BATCH`, the
         account and the positions whose market bits are set in `options` are read as
         they were before the batch.
    """
    word: uint256 = self._accounts[trader]
    if options & _BEFORE_BATCH != 0:
        word = self._pre_account[trader]
    account: packing.Account = packing._unpack_account(word)
    markets: uint256 = account.cross_markets
    health: Health = Health(equity=account.collateral, initial=0, maintenance=0)
    for market: uint256 in range(MAX_MARKETS):
        if markets == 0:
            break
        if markets & 1 != 0:
            key: uint256 = convert(trader, uint256) | (market << _MARKET_KEY_OFFSET)
            position: uint256 = self._positions[key]
            if (options >> market) & 1 != 0 and options & _BEFORE_BATCH != 0:
                position = self._pre_position[key]
            health = self._add_position(health, position, market, options & _WITH_MAINTENANCE != 0)
        markets >>= 1
    return health


@internal
@view
def _isolated_health(word: uint256, isolated_margin: uint256, market: uint256) -> Health:
    """
    @dev Equity and margin requirements of an isolated position, which only its own
         margin backs.
    """
    return self._add_position(Health(equity=convert(isolated_margin, int256), initial=0, maintenance=0), word, market, True)


@internal
@view
def _add_position(health: Health, word: uint256, market: uint256, with_maintenance: bool) -> Health:
    """
    @dev Adds a position to `health`: its value at the market's price with the
         funding it owes or is owed since its last settlement, and its requirements.
    """
    if word == 0:
        return health
    size: int256 = 0
    quote: int256 = 0
    isolated: bool = False
    size, quote, isolated = packing._unpack_position(word)
    risk: uint256 = self._risk_cache[market]
    if risk == 0:
        risk = self._risk_word(self._risk(market))
    price: uint256 = risk & _MASK_64
    maintenance: uint256 = health.maintenance
    if with_maintenance:
        maintenance += margin._requirement(size, price, (risk >> _RISK_MAINTENANCE_OFFSET) & _MASK_32)
    equity: int256 = health.equity + margin._value(size, quote, price)
    if (word ^ risk) & packing._FUNDING_FIELD != 0:
        equity += margin._funding_payment(size, packing._funding_snapshot(risk) - packing._funding_snapshot(word))
    return Health(
        equity=equity,
        initial=health.initial + margin._requirement(size, price, (risk >> _RISK_INITIAL_OFFSET) & _MASK_32),
        maintenance=maintenance,
    )


@internal
@pure
def _risk_word(risk: IMarkets.Risk) -> uint256:
    """
    @dev Packs what the margin checks need of a market into a `_risk_cache` word.
    """
    return (
        convert(convert(risk.price, uint64), uint256)
        | (((risk.params >> params.INITIAL_MARGIN_OFFSET) & _MASK_64) << _RISK_INITIAL_OFFSET)
        | packing._pack_funding_snapshot(risk.funding_index)
    )
