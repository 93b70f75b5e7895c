# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title perpdex Markets: listing, risk parameters, oracle prices and funding
@custom:contract-name Markets
@license MIT
@notice The registry the Exchange reads each market from: its grid, margin
        fractions and fees, its index price, and its cumulative funding index. It
        holds no funds; the Exchange calls `risk` once per market per batch.

        Prices come from a Chainlink-style aggregator. A reading is good when it is
        positive, not older than the market's `max_price_age`, not from the future
        and inside the market's sanity bounds (`min_price`..`max_price`, the same
        circuit-breaker idea as Chainlink's own min/max answer). Otherwise the
        market is stale: `risk` then reports the last good price, recorded by
        `record_price` and by every funding post, with `fresh` false, and the
        Exchange lets only risk-reducing actions through.

        Funding: a cumulative index per market, in collateral units per whole base
        unit (the unit of a price). The funding keeper posts a rate per interval,
        at most once per interval; the rate is clamped to the market's cap, and the
        index moves by rate * index price. A long of size s owes
        s * (index now - index at its last settlement) / SIZE_SCALE, a short is
        owed the same: the Exchange settles a position against the index whenever
        it touches it.

        Parameters: every one has hard bounds no key can pass (`_check`). A market's
        parameters take effect at listing; after that every change is queued,
        announced by `ParamsQueued` with its effective time, and applies only
        PARAMS_DELAY later (longer than the Exchange's longest withdrawal delay), by
        anyone's `apply_params`: a trader who disagrees leaves first.
"""

from .interfaces import IAggregatorV3
from . import params
from . import units


# @dev A funding rate is a fraction of the index price per interval, scaled by
#      FUNDING_RATE_SCALE: 100_000 is 0.01%.
FUNDING_RATE_SCALE: public(constant(int256)) = 10 ** 9
MAX_MARKETS: public(constant(uint256)) = 64

# @dev Hard bounds of every risk parameter; docs/architecture.md gives the reason of
#      each. No admin key can set a value outside them, queued or at listing.
# the largest leverage: an initial margin of at least 2%
MAX_LEVERAGE: public(constant(uint256)) = 50
# maintenance margin: 0.5% to 25%, and at most three quarters of the initial margin
MIN_MAINTENANCE_MARGIN_PPM: public(constant(uint256)) = 5_000
MAX_MAINTENANCE_MARGIN_PPM: public(constant(uint256)) = 250_000
MAX_FEE_PPM: public(constant(uint256)) = 10_000
# the tiered liquidation step, a fraction of the position (ppm): 25% to 40%
MIN_LIQUIDATION_FRACTION: public(constant(uint256)) = 250_000
MAX_LIQUIDATION_FRACTION: public(constant(uint256)) = 400_000
# the liquidation penalty: at most 2% of the closed notional and half the maintenance
# margin, so a liquidated trader keeps at least the other half
MAX_PENALTY_PPM: public(constant(uint256)) = 20_000
# the liquidator's share of the penalty: 10% to 90% (the insurance fund gets the rest)
MIN_LIQUIDATOR_SHARE_PPM: public(constant(uint256)) = 100_000
MAX_LIQUIDATOR_SHARE_PPM: public(constant(uint256)) = 900_000
# a position under this notional is closed whole: at most 1,000,000 USDC
MAX_MIN_PARTIAL_NOTIONAL: public(constant(uint256)) = 10 ** 12
# how old an oracle price may be: one minute to one day
MIN_PRICE_AGE: public(constant(uint256)) = 60
MAX_PRICE_AGE: public(constant(uint256)) = 86_400
# funding: an interval of one minute to eight hours, a cap of at most 1% per interval
# and at most 4% per hour
MIN_FUNDING_INTERVAL: public(constant(uint256)) = 60
MAX_FUNDING_INTERVAL: public(constant(uint256)) = 28_800
MAX_FUNDING_RATE_CAP: public(constant(uint256)) = 10 ** 7
MAX_HOURLY_FUNDING_RATE_CAP: public(constant(uint256)) = 4 * 10 ** 7

# @dev A change of a listed market's parameters waits PARAMS_DELAY after it is queued
#      (`ParamsQueued`), then anyone may apply it for PARAMS_GRACE; after that it
#      lapses. Two days is longer than the Exchange's longest withdrawal delay (one
#      day, `MAX_WITHDRAWAL_DELAY`, a test compares the compiled constants): a trader
#      who asks to withdraw when the change is announced is paid before it applies.
PARAMS_DELAY: public(constant(uint256)) = 172_800
PARAMS_GRACE: public(constant(uint256)) = 604_800

# @dev The funding index keeps within int88: it is snapshotted in 88 bits of each
#      position word (packing.vy).
MAX_FUNDING_INDEX: public(constant(int256)) = 2 ** 87 - 1

# @dev Defaults set at listing, changed with the setters below.
_DEFAULT_MAX_PRICE_AGE: constant(uint256) = 3_600
_DEFAULT_FUNDING_INTERVAL: constant(uint256) = 3_600
_DEFAULT_FUNDING_RATE_CAP: constant(uint256) = 500_000
_DEFAULT_LIQUIDATION_FRACTION: constant(uint256) = 300_000
_DEFAULT_LIQUIDATOR_SHARE: constant(uint256) = 500_000
_DEFAULT_MIN_PARTIAL_NOTIONAL: constant(uint256) = 100 * 10 ** 6
_SECONDS_PER_HOUR: constant(uint256) = 3_600


struct MarketInfo:
    symbol: String[16]
    oracle: address
    oracle_divisor: uint256
    max_leverage: uint256


struct MarketParams:
    tick_size: uint256
    lot_size: uint256
    initial_margin_ppm: uint256
    maintenance_margin_ppm: uint256
    maker_fee_ppm: uint256
    taker_fee_ppm: uint256


struct OracleLimits:
    max_price_age: uint256
    min_price: uint256
    max_price: uint256


struct Funding:
    index: int256
    interval: uint256
    rate_cap: uint256
    last_posted: uint256


struct Liquidation:
    fraction_ppm: uint256
    penalty_ppm: uint256
    liquidator_share_ppm: uint256
    min_partial_notional: uint256


# @dev Every parameter of a market an admin may change (the grid and oracle are fixed
#      at listing): what a queued change holds, validated as a whole by `_check`.
struct Config:
    max_leverage: uint256
    initial_margin_ppm: uint256
    maintenance_margin_ppm: uint256
    maker_fee_ppm: uint256
    taker_fee_ppm: uint256
    max_price_age: uint256
    min_price: uint256
    max_price: uint256
    funding_interval: uint256
    funding_rate_cap: uint256
    liquidation_fraction_ppm: uint256
    penalty_ppm: uint256
    liquidator_share_ppm: uint256
    min_partial_notional: uint256


# @dev What the Exchange reads once per market per batch. `params` is zero for a
#      market that is not listed.
struct Risk:
    params: uint256
    price: uint256
    fresh: bool
    funding_index: int256


event MarketListed:
    market: indexed(uint256)
    symbol: String[16]
    oracle: address
    max_leverage: uint256
    tick_size: uint256
    lot_size: uint256


event MarketParamsChanged:
    market: indexed(uint256)
    max_leverage: uint256
    initial_margin_ppm: uint256
    maintenance_margin_ppm: uint256
    maker_fee_ppm: uint256
    taker_fee_ppm: uint256


event OracleLimitsChanged:
    market: indexed(uint256)
    max_price_age: uint256
    min_price: uint256
    max_price: uint256


event FundingParamsChanged:
    market: indexed(uint256)
    interval: uint256
    rate_cap: uint256


event LiquidationParamsChanged:
    market: indexed(uint256)
    fraction_ppm: uint256
    penalty_ppm: uint256
    liquidator_share_ppm: uint256
    min_partial_notional: uint256


event ParamsQueued:
    market: indexed(uint256)
    config: Config
    effective_at: uint256


event ParamsCancelled:
    market: indexed(uint256)
    config: Config


event PriceRecorded:
    market: indexed(uint256)
    price: uint256


event FundingPosted:
    market: indexed(uint256)
    requested_rate: int256
    rate: int256
    price: uint256
    index: int256


event FundingKeeperChanged:
    keeper: indexed(address)


admin: public(immutable(address))
funding_keeper: public(address)
market_count: public(uint256)
last_good_price: public(HashMap[uint256, uint256])

_info: HashMap[uint256, MarketInfo]
_params: HashMap[uint256, uint256]
_oracle_limits: HashMap[uint256, OracleLimits]
_funding: HashMap[uint256, Funding]
_liquidation: HashMap[uint256, Liquidation]
# the queued change of each market and when it may apply (0: none queued)
_pending: HashMap[uint256, Config]
pending_at: public(HashMap[uint256, uint256])


@deploy
def __init__(funding_keeper: address):
    """
    @dev The deployer becomes the admin, who lists markets and tunes them; nobody can
         change a funding index but by `post_funding`, within the cap.
    @param funding_keeper The key allowed to post funding rates.
    """
    admin = msg.sender
    self._set_funding_keeper(funding_keeper)


# ---------------------------------------------------------------- administration


@external
def set_funding_keeper(keeper: address):
    self._only_admin()
    self._set_funding_keeper(keeper)


@internal
def _set_funding_keeper(keeper: address):
    assert keeper != empty(address), "markets: zero keeper"
    self.funding_keeper = keeper
    log FundingKeeperChanged(keeper=keeper)


@external
def list_market(
    symbol: String[16],
    oracle: address,
    tick_size: uint256,
    lot_size: uint256,
    max_leverage: uint256,
    initial_margin_ppm: uint256,
    maintenance_margin_ppm: uint256,
    maker_fee_ppm: uint256,
    taker_fee_ppm: uint256,
) -> uint256:
    """
    @dev Lists a new market. Its parameters are in effect at once: no position can be
         open in a market not listed yet. It starts with default oracle limits (price
         age one hour, no sanity bounds until set), funding (hourly, capped at 0.05%)
         and liquidation parameters (30% steps, a penalty of half the maintenance
         margin up to MAX_PENALTY_PPM, shared equally by liquidator and insurance
         fund, positions under 100 USDC closed whole); changing them later waits
         PARAMS_DELAY. `tick_size * lot_size` must be a multiple of SIZE_SCALE so
         that every trade's notional is an exact number of collateral units. The
         oracle must have a good price now.
    @param symbol The market's name, e.g. "BTC-PERP".
    @param oracle A Chainlink-style aggregator quoting the index price in USD.
    @param tick_size The price grid, price units.
    @param lot_size The size grid, size units.
    @param max_leverage The largest notional / equity a position may open at.
    @param initial_margin_ppm The initial margin fraction (at least 1 / max_leverage).
    @param maintenance_margin_ppm The maintenance margin fraction (at most 3/4 of initial).
    @param maker_fee_ppm The fee charged to the resting order, ppm of notional.
    @param taker_fee_ppm The fee charged to the incoming order, ppm of notional.
    @return uint256 The new market's id.
    """
    self._only_admin()
    market: uint256 = self.market_count
    assert market < MAX_MARKETS, "markets: too many markets"
    assert len(symbol) != 0, "markets: empty symbol"
    assert oracle != empty(address), "markets: zero oracle"
    assert tick_size != 0 and tick_size <= params.MASK_64, "markets: bad tick size"
    assert lot_size != 0 and lot_size <= params.MASK_64, "markets: bad lot size"
    assert (tick_size * lot_size) % units.SIZE_SCALE == 0, "markets: inexact grid"
    decimals: uint256 = convert(staticcall IAggregatorV3(oracle).decimals(), uint256)
    assert decimals >= units.PRICE_DECIMALS, "markets: oracle decimals"
    config: Config = Config(
        max_leverage=max_leverage,
        initial_margin_ppm=initial_margin_ppm,
        maintenance_margin_ppm=maintenance_margin_ppm,
        maker_fee_ppm=maker_fee_ppm,
        taker_fee_ppm=taker_fee_ppm,
        max_price_age=_DEFAULT_MAX_PRICE_AGE,
        min_price=1,
        max_price=params.MASK_64,
        funding_interval=_DEFAULT_FUNDING_INTERVAL,
        funding_rate_cap=_DEFAULT_FUNDING_RATE_CAP,
        liquidation_fraction_ppm=_DEFAULT_LIQUIDATION_FRACTION,
        penalty_ppm=min(maintenance_margin_ppm // 2, MAX_PENALTY_PPM),
        liquidator_share_ppm=_DEFAULT_LIQUIDATOR_SHARE,
        min_partial_notional=_DEFAULT_MIN_PARTIAL_NOTIONAL,
    )
    self._check(config)
    self._info[market] = MarketInfo(
        symbol=symbol,
        oracle=oracle,
        oracle_divisor=10 ** (decimals - units.PRICE_DECIMALS),
        max_leverage=max_leverage,
    )
    self._params[market] = tick_size | (lot_size << params.LOT_OFFSET)
    self.market_count = market + 1
    log MarketListed(
        market=market,
        symbol=symbol,
        oracle=oracle,
        max_leverage=max_leverage,
        tick_size=tick_size,
        lot_size=lot_size,
    )
    self._apply(market, config)
    assert self._record_price(market), "markets: no good oracle price"
    return market


@external
def set_market_params(
    market: uint256,
    max_leverage: uint256,
    initial_margin_ppm: uint256,
    maintenance_margin_ppm: uint256,
    maker_fee_ppm: uint256,
    taker_fee_ppm: uint256,
):
    """
    @dev Queues a change of the market's leverage, margin fractions and fees (see
         `_queue`). A fee change never applies above the cap each trader signed into
         their orders.
    """
    self._only_listed_by_admin(market)
    config: Config = self._next_config(market)
    config.max_leverage = max_leverage
    config.initial_margin_ppm = initial_margin_ppm
    config.maintenance_margin_ppm = maintenance_margin_ppm
    config.maker_fee_ppm = maker_fee_ppm
    config.taker_fee_ppm = taker_fee_ppm
    self._queue(market, config)


@external
def set_oracle_limits(market: uint256, max_price_age: uint256, min_price: uint256, max_price: uint256):
    """
    @dev Queues a change of how old a price may be and of the sanity bounds outside
         which a reading is refused as a feed fault (price units); see `_queue`.
    """
    self._only_listed_by_admin(market)
    config: Config = self._next_config(market)
    config.max_price_age = max_price_age
    config.min_price = min_price
    config.max_price = max_price
    self._queue(market, config)


@external
def set_funding_params(market: uint256, interval: uint256, rate_cap: uint256):
    """
    @dev Queues a change of the funding interval (seconds) and of the largest rate per
         interval (FUNDING_RATE_SCALE); see `_queue`.
    """
    self._only_listed_by_admin(market)
    config: Config = self._next_config(market)
    config.funding_interval = interval
    config.funding_rate_cap = rate_cap
    self._queue(market, config)


@external
def set_liquidation_params(
    market: uint256,
    fraction_ppm: uint256,
    penalty_ppm: uint256,
    liquidator_share_ppm: uint256,
    min_partial_notional: uint256,
):
    """
    @dev Queues a change of the tiered liquidation of a market (see `_queue`): the
         fraction of a position each partial step closes, the penalty on the closed
         notional (at most half the maintenance fraction, so a partial step always
         helps an account that is not bankrupt), the liquidator's share of the
         penalty (the insurance fund gets the rest), and the notional under which a
         position is closed whole.
    """
    self._only_listed_by_admin(market)
    config: Config = self._next_config(market)
    config.liquidation_fraction_ppm = fraction_ppm
    config.penalty_ppm = penalty_ppm
    config.liquidator_share_ppm = liquidator_share_ppm
    config.min_partial_notional = min_partial_notional
    self._queue(market, config)


@external
def apply_params(market: uint256):
    """
    @dev Puts the market's queued change in effect once its delay is over. Anyone may
         call it, until PARAMS_GRACE after its effective time; then it has lapsed and
         only a new change (announced again) can replace the parameters.
    """
    effective_at: uint256 = self.pending_at[market]
    assert effective_at != 0, "markets: no change queued"
    assert block.timestamp >= effective_at, "markets: change not due"
    assert block.timestamp <= effective_at + PARAMS_GRACE, "markets: change lapsed"
    config: Config = self._pending[market]
    self._clear_pending(market)
    self._apply(market, config)


@external
def cancel_params(market: uint256):
    """
    @dev Drops the market's queued change (the admin's undo).
    """
    self._only_admin()
    assert self.pending_at[market] != 0, "markets: no change queued"
    config: Config = self._pending[market]
    self._clear_pending(market)
    log ParamsCancelled(market=market, config=config)


@internal
def _queue(market: uint256, config: Config):
    """
    @dev Queues `config` to replace the market's parameters PARAMS_DELAY from now,
         announced by `ParamsQueued`; it replaces a change queued before, whose delay
         starts again. Every change waits, also one that looks good for traders:
         lowering a margin fraction or the penalty moves losses to the insurance fund
         and to the counterparties of deleveraging, a lower funding cap pays one side
         less, wider oracle limits admit a faulty price. One rule is simpler to audit.
    """
    self._check(config)
    effective_at: uint256 = block.timestamp + PARAMS_DELAY
    self._pending[market] = config
    self.pending_at[market] = effective_at
    log ParamsQueued(market=market, config=config, effective_at=effective_at)


@internal
def _clear_pending(market: uint256):
    self._pending[market] = empty(Config)
    self.pending_at[market] = 0


@internal
@view
def _next_config(market: uint256) -> Config:
    """
    @dev What a new change starts from: the queued change while it can still apply,
         so that changes of several setters add up, else the parameters in effect.
    """
    effective_at: uint256 = self.pending_at[market]
    if effective_at != 0 and block.timestamp <= effective_at + PARAMS_GRACE:
        return self._pending[market]
    return self._config(market)


@internal
@pure
def _check(config: Config):
    """
    @dev Refuses parameters outside the hard bounds (docs/architecture.md gives the
         reason of each). Each factor is bounded before a product uses it, so no
         product below can overflow.
    """
    assert config.max_leverage != 0 and config.max_leverage <= MAX_LEVERAGE, "markets: leverage out of bounds"
    assert config.initial_margin_ppm <= units.FRACTION_SCALE, "markets: margin above 100%"
    assert config.initial_margin_ppm * config.max_leverage >= units.FRACTION_SCALE, "markets: margin below 1/leverage"
    assert config.maintenance_margin_ppm >= MIN_MAINTENANCE_MARGIN_PPM, "markets: maintenance out of bounds"
    assert config.maintenance_margin_ppm <= MAX_MAINTENANCE_MARGIN_PPM, "markets: maintenance out of bounds"
    assert 4 * config.maintenance_margin_ppm <= 3 * config.initial_margin_ppm, "markets: maintenance above 3/4 of initial"
    assert config.maker_fee_ppm <= MAX_FEE_PPM and config.taker_fee_ppm <= MAX_FEE_PPM, "markets: fee too high"
    assert config.max_price_age >= MIN_PRICE_AGE and config.max_price_age <= MAX_PRICE_AGE, "markets: price age out of bounds"
    assert config.min_price != 0 and config.min_price <= config.max_price, "markets: bad price bounds"
    assert config.max_price <= params.MASK_64, "markets: bad price bounds"
    assert config.funding_interval >= MIN_FUNDING_INTERVAL, "markets: interval out of bounds"
    assert config.funding_interval <= MAX_FUNDING_INTERVAL, "markets: interval out of bounds"
    assert config.funding_rate_cap <= MAX_FUNDING_RATE_CAP, "markets: rate cap too high"
    # the cap per hour, cap * 3600 / interval, cross-multiplied
    assert config.funding_rate_cap * _SECONDS_PER_HOUR <= MAX_HOURLY_FUNDING_RATE_CAP * config.funding_interval, "markets: rate cap too high"
    assert config.liquidation_fraction_ppm >= MIN_LIQUIDATION_FRACTION, "markets: fraction out of bounds"
    assert config.liquidation_fraction_ppm <= MAX_LIQUIDATION_FRACTION, "markets: fraction out of bounds"
    assert config.penalty_ppm <= MAX_PENALTY_PPM, "markets: penalty out of bounds"
    assert 2 * config.penalty_ppm <= config.maintenance_margin_ppm, "markets: penalty out of bounds"
    assert config.liquidator_share_ppm >= MIN_LIQUIDATOR_SHARE_PPM, "markets: share out of bounds"
    assert config.liquidator_share_ppm <= MAX_LIQUIDATOR_SHARE_PPM, "markets: share out of bounds"
    assert config.min_partial_notional <= MAX_MIN_PARTIAL_NOTIONAL, "markets: min partial notional too high"


@internal
def _apply(market: uint256, config: Config):
    """
    @dev Puts `config` in effect, announcing every group of it.
    """
    self._info[market].max_leverage = config.max_leverage
    self._params[market] = (
        (self._params[market] & ((1 << params.INITIAL_MARGIN_OFFSET) - 1))
        | (config.initial_margin_ppm << params.INITIAL_MARGIN_OFFSET)
        | (config.maintenance_margin_ppm << params.MAINTENANCE_MARGIN_OFFSET)
        | (config.maker_fee_ppm << params.MAKER_FEE_OFFSET)
        | (config.taker_fee_ppm << params.TAKER_FEE_OFFSET)
    )
    log MarketParamsChanged(
        market=market,
        max_leverage=config.max_leverage,
        initial_margin_ppm=config.initial_margin_ppm,
        maintenance_margin_ppm=config.maintenance_margin_ppm,
        maker_fee_ppm=config.maker_fee_ppm,
        taker_fee_ppm=config.taker_fee_ppm,
    )
    self._oracle_limits[market] = OracleLimits(
        max_price_age=config.max_price_age, min_price=config.min_price, max_price=config.max_price
    )
    log OracleLimitsChanged(
        market=market, max_price_age=config.max_price_age, min_price=config.min_price, max_price=config.max_price
    )
    self._funding[market].interval = config.funding_interval
    self._funding[market].rate_cap = config.funding_rate_cap
    log FundingParamsChanged(market=market, interval=config.funding_interval, rate_cap=config.funding_rate_cap)
    self._liquidation[market] = Liquidation(
        fraction_ppm=config.liquidation_fraction_ppm,
        penalty_ppm=config.penalty_ppm,
        liquidator_share_ppm=config.liquidator_share_ppm,
        min_partial_notional=config.min_partial_notional,
    )
    log LiquidationParamsChanged(
        market=market,
        fraction_ppm=config.liquidation_fraction_ppm,
        penalty_ppm=config.penalty_ppm,
        liquidator_share_ppm=config.liquidator_share_ppm,
        min_partial_notional=config.min_partial_notional,
    )


@internal
@view
def _config(market: uint256) -> Config:
    """
    @dev The market's parameters in effect.
    """
    word: uint256 = self._params[market]
    limits: OracleLimits = self._oracle_limits[market]
    funding: Funding = self._funding[market]
    terms: Liquidation = self._liquidation[market]
    return Config(
        max_leverage=self._info[market].max_leverage,
        initial_margin_ppm=(word >> params.INITIAL_MARGIN_OFFSET) & params.MASK_32,
        maintenance_margin_ppm=(word >> params.MAINTENANCE_MARGIN_OFFSET) & params.MASK_32,
        maker_fee_ppm=(word >> params.MAKER_FEE_OFFSET) & params.MASK_32,
        taker_fee_ppm=word >> params.TAKER_FEE_OFFSET,
        max_price_age=limits.max_price_age,
        min_price=limits.min_price,
        max_price=limits.max_price,
        funding_interval=funding.interval,
        funding_rate_cap=funding.rate_cap,
        liquidation_fraction_ppm=terms.fraction_ppm,
        penalty_ppm=terms.penalty_ppm,
        liquidator_share_ppm=terms.liquidator_share_ppm,
        min_partial_notional=terms.min_partial_notional,
    )


# ---------------------------------------------------------------- prices and funding


@external
def record_price(market: uint256) -> bool:
    """
    @dev Records the oracle's price as the market's last good price if it is good
         now; anyone may call it.
    @return bool Whether the price was good and recorded.
    """
    assert market < self.market_count, "markets: unknown market"
    return self._record_price(market)


@internal
def _record_price(market: uint256) -> bool:
    price: uint256 = 0
    good: bool = False
    price, good = self._oracle_price(market)
    if good:
        self.last_good_price[market] = price
        log PriceRecorded(market=market, price=price)
    return good


@external
def post_funding(market: uint256, rate: int256):
    """
    @dev Moves the market's funding index by one interval at `rate` (clamped to the
         market's cap) times the index price, which must be good. Positive: longs
         pay shorts. At most once per interval, by the funding keeper only; the cap
         bounds what a faulty keeper can move. The index moves by the product
         truncated toward zero, the same for both sides, so funding stays zero-sum.
    @param rate The rate per interval, FUNDING_RATE_SCALE.
    """
    assert msg.sender == self.funding_keeper, "markets: caller is not the funding keeper"
    assert market < self.market_count, "markets: unknown market"
    funding: Funding = self._funding[market]
    assert block.timestamp >= funding.last_posted + funding.interval, "markets: funding interval not over"
    assert self._record_price(market), "markets: stale price"
    cap: int256 = convert(funding.rate_cap, int256)
    applied: int256 = min(max(rate, -cap), cap)
    price: uint256 = self.last_good_price[market]
    # signed `//` truncates toward zero: both sides see the same index step
    index: int256 = funding.index + applied * convert(price, int256) // FUNDING_RATE_SCALE
    assert abs(index) <= MAX_FUNDING_INDEX, "markets: funding index out of range"
    self._funding[market].index = index
    self._funding[market].last_posted = block.timestamp
    log FundingPosted(market=market, requested_rate=rate, rate=applied, price=price, index=index)


@internal
@view
def _oracle_price(market: uint256) -> (uint256, bool):
    """
    @dev The aggregator's latest price in price units (rounded down) and whether it
         is good. A reverting feed, a malformed answer, a zero or negative answer, an
         old or future timestamp and a price outside the sanity bounds all read as
         not good; nothing here reverts, so a broken feed never blocks the Exchange.
    """
    info: MarketInfo = self._info[market]
    success: bool = False
    response: Bytes[160] = b""
    success, response = raw_call(
        info.oracle,
        method_id("latestRoundData()"),
        max_outsize=160,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success or len(response) != 160:
        return (0, False)
    answer: int256 = convert(slice(response, 32, 32), int256)
    updated_at: uint256 = convert(slice(response, 96, 32), uint256)
    if answer <= 0 or updated_at > block.timestamp:
        return (0, False)
    limits: OracleLimits = self._oracle_limits[market]
    price: uint256 = convert(answer, uint256) // info.oracle_divisor
    # updated_at <= block.timestamp here, so the subtraction cannot underflow
    if block.timestamp - updated_at > limits.max_price_age or price < limits.min_price or price > limits.max_price:
        return (price, False)
    return (price, True)


# ---------------------------------------------------------------- views


@external
@view
def risk(market: uint256) -> Risk:
    """
    @dev Everything the Exchange needs of a market for a batch: its packed
         parameters (zero if not listed), its price (the oracle's if good, else the
         last good one) and whether that price is fresh, and its funding index.
    """
    if market >= self.market_count:
        return empty(Risk)
    price: uint256 = 0
    fresh: bool = False
    price, fresh = self._price(market)
    return Risk(params=self._params[market], price=price, fresh=fresh, funding_index=self._funding[market].index)


@external
@view
def price(market: uint256) -> (uint256, bool):
    """
    @dev The market's price as the Exchange values positions at, and whether it is
         fresh (false: the last good price, while the feed is stale or faulty).
    """
    assert market < self.market_count, "markets: unknown market"
    return self._price(market)


@internal
@view
def _price(market: uint256) -> (uint256, bool):
    """
    @dev The oracle's price if good, else the last good one, and whether it is fresh.
    """
    price: uint256 = 0
    good: bool = False
    price, good = self._oracle_price(market)
    if not good:
        price = self.last_good_price[market]
    return (price, good)


@external
@view
def market_info(market: uint256) -> MarketInfo:
    return self._info[market]


@external
@view
def market_params(market: uint256) -> MarketParams:
    word: uint256 = self._params[market]
    return MarketParams(
        tick_size=word & params.MASK_64,
        lot_size=(word >> params.LOT_OFFSET) & params.MASK_64,
        initial_margin_ppm=(word >> params.INITIAL_MARGIN_OFFSET) & params.MASK_32,
        maintenance_margin_ppm=(word >> params.MAINTENANCE_MARGIN_OFFSET) & params.MASK_32,
        maker_fee_ppm=(word >> params.MAKER_FEE_OFFSET) & params.MASK_32,
        taker_fee_ppm=word >> params.TAKER_FEE_OFFSET,
    )


@external
@view
def oracle_limits(market: uint256) -> OracleLimits:
    return self._oracle_limits[market]


@external
@view
def funding(market: uint256) -> Funding:
    return self._funding[market]


@external
@view
def liquidation(market: uint256) -> Liquidation:
    return self._liquidation[market]


@external
@view
def pending_params(market: uint256) -> Config:
    """
    @dev The market's queued change (all zero if none), in effect from `pending_at`.
    """
    return self._pending[market]


# ---------------------------------------------------------------- access


@internal
@view
def _only_admin():
    assert msg.sender == admin, "markets: caller is not the admin"


@internal
@view
def _only_listed_by_admin(market: uint256):
    self._only_admin()
    assert market < self.market_count, "markets: unknown market"
