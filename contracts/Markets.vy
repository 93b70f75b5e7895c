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
"""

from .interfaces import IAggregatorV3
from . import params
from . import units


# @dev A funding rate is a fraction of the index price per interval, scaled by
#      FUNDING_RATE_SCALE: 100_000 is 0.01%.
FUNDING_RATE_SCALE: public(constant(int256)) = 10 ** 9
# @dev The largest cap an admin can set: 1% of the price per interval.
MAX_FUNDING_RATE_CAP: public(constant(uint256)) = 10 ** 7
MIN_FUNDING_INTERVAL: public(constant(uint256)) = 60
MAX_MARKETS: public(constant(uint256)) = 64
MAX_FEE_PPM: public(constant(uint256)) = 10_000
# @dev The tiered liquidation step, a fraction of the position (ppm): 25% to 40%.
MIN_LIQUIDATION_FRACTION: public(constant(uint256)) = 250_000
MAX_LIQUIDATION_FRACTION: public(constant(uint256)) = 400_000
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
    @dev Lists a new market with default oracle limits (price age one hour, no
         sanity bounds until set), funding (hourly, capped at 0.05%) and liquidation
         parameters (30% steps, a penalty of half the maintenance margin, shared
         equally by liquidator and insurance fund). `tick_size * lot_size` must be a
         multiple of SIZE_SCALE so that every trade's notional is an exact number of
         collateral units. The oracle must have a good price now.
    @param symbol The market's name, e.g. "BTC-PERP".
    @param oracle A Chainlink-style aggregator quoting the index price in USD.
    @param tick_size The price grid, price units.
    @param lot_size The size grid, size units.
    @param max_leverage The largest notional / equity a position may open at.
    @param initial_margin_ppm The initial margin fraction (at least 1 / max_leverage).
    @param maintenance_margin_ppm The maintenance margin fraction (below initial).
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
    self._set_risk_and_fees(
        market, max_leverage, initial_margin_ppm, maintenance_margin_ppm, maker_fee_ppm, taker_fee_ppm
    )
    self._set_oracle_limits(market, _DEFAULT_MAX_PRICE_AGE, 1, params.MASK_64)
    self._set_funding_params(market, _DEFAULT_FUNDING_INTERVAL, _DEFAULT_FUNDING_RATE_CAP)
    self._set_liquidation_params(
        market,
        _DEFAULT_LIQUIDATION_FRACTION,
        maintenance_margin_ppm // 2,
        _DEFAULT_LIQUIDATOR_SHARE,
        _DEFAULT_MIN_PARTIAL_NOTIONAL,
    )
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
    @dev Changes a market's leverage, margin fractions and fees. A fee change never
         applies above the cap each trader signed into their orders.
    """
    self._only_listed_by_admin(market)
    self._info[market].max_leverage = max_leverage
    self._set_risk_and_fees(
        market, max_leverage, initial_margin_ppm, maintenance_margin_ppm, maker_fee_ppm, taker_fee_ppm
    )
    # the penalty must stay below the new maintenance fraction
    liquidation: Liquidation = self._liquidation[market]
    assert liquidation.penalty_ppm < maintenance_margin_ppm, "markets: penalty not below maintenance"


@internal
def _set_risk_and_fees(
    market: uint256,
    max_leverage: uint256,
    initial_margin_ppm: uint256,
    maintenance_margin_ppm: uint256,
    maker_fee_ppm: uint256,
    taker_fee_ppm: uint256,
):
    assert max_leverage != 0, "markets: zero leverage"
    assert initial_margin_ppm * max_leverage >= units.FRACTION_SCALE, "markets: margin below 1/leverage"
    assert initial_margin_ppm <= units.FRACTION_SCALE, "markets: margin above 100%"
    assert maintenance_margin_ppm != 0, "markets: zero maintenance"
    assert maintenance_margin_ppm < initial_margin_ppm, "markets: maintenance not below initial"
    assert maker_fee_ppm <= MAX_FEE_PPM and taker_fee_ppm <= MAX_FEE_PPM, "markets: fee too high"
    self._params[market] = (
        (self._params[market] & ((1 << params.INITIAL_MARGIN_OFFSET) - 1))
        | (initial_margin_ppm << params.INITIAL_MARGIN_OFFSET)
        | (maintenance_margin_ppm << params.MAINTENANCE_MARGIN_OFFSET)
        | (maker_fee_ppm << params.MAKER_FEE_OFFSET)
        | (taker_fee_ppm << params.TAKER_FEE_OFFSET)
    )
    log MarketParamsChanged(
        market=market,
        max_leverage=max_leverage,
        initial_margin_ppm=initial_margin_ppm,
        maintenance_margin_ppm=maintenance_margin_ppm,
        maker_fee_ppm=maker_fee_ppm,
        taker_fee_ppm=taker_fee_ppm,
    )


@external
def set_oracle_limits(market: uint256, max_price_age: uint256, min_price: uint256, max_price: uint256):
    """
    @dev Sets how old a price may be and the sanity bounds outside which a reading is
         refused as a feed fault (price units).
    """
    self._only_listed_by_admin(market)
    self._set_oracle_limits(market, max_price_age, min_price, max_price)


@internal
def _set_oracle_limits(market: uint256, max_price_age: uint256, min_price: uint256, max_price: uint256):
    assert max_price_age != 0, "markets: zero price age"
    assert min_price != 0 and min_price <= max_price and max_price <= params.MASK_64, "markets: bad price bounds"
    self._oracle_limits[market] = OracleLimits(max_price_age=max_price_age, min_price=min_price, max_price=max_price)
    log OracleLimitsChanged(market=market, max_price_age=max_price_age, min_price=min_price, max_price=max_price)


@external
def set_funding_params(market: uint256, interval: uint256, rate_cap: uint256):
    """
    @dev Sets the funding interval (seconds) and the largest rate per interval
         (FUNDING_RATE_SCALE).
    """
    self._only_listed_by_admin(market)
    self._set_funding_params(market, interval, rate_cap)


@internal
def _set_funding_params(market: uint256, interval: uint256, rate_cap: uint256):
    assert interval >= MIN_FUNDING_INTERVAL, "markets: interval too short"
    assert rate_cap <= MAX_FUNDING_RATE_CAP, "markets: rate cap too high"
    self._funding[market].interval = interval
    self._funding[market].rate_cap = rate_cap
    log FundingParamsChanged(market=market, interval=interval, rate_cap=rate_cap)


@external
def set_liquidation_params(
    market: uint256,
    fraction_ppm: uint256,
    penalty_ppm: uint256,
    liquidator_share_ppm: uint256,
    min_partial_notional: uint256,
):
    """
    @dev Sets the tiered liquidation of a market: the fraction of a position each
         partial step closes (25% to 40%), the penalty on the closed notional (below
         the maintenance fraction, so a partial step always helps an account that is
         not bankrupt), the liquidator's share of the penalty (the insurance fund
         gets the rest), and the notional under which a position is closed whole.
    """
    self._only_listed_by_admin(market)
    self._set_liquidation_params(market, fraction_ppm, penalty_ppm, liquidator_share_ppm, min_partial_notional)


@internal
def _set_liquidation_params(
    market: uint256,
    fraction_ppm: uint256,
    penalty_ppm: uint256,
    liquidator_share_ppm: uint256,
    min_partial_notional: uint256,
):
    assert fraction_ppm >= MIN_LIQUIDATION_FRACTION and fraction_ppm <= MAX_LIQUIDATION_FRACTION, "markets: fraction out of bounds"
    assert penalty_ppm < (self._params[market] >> params.MAINTENANCE_MARGIN_OFFSET) & params.MASK_32, "markets: penalty not below maintenance"
    assert liquidator_share_ppm <= units.FRACTION_SCALE, "markets: share above 100%"
    self._liquidation[market] = Liquidation(
        fraction_ppm=fraction_ppm,
        penalty_ppm=penalty_ppm,
        liquidator_share_ppm=liquidator_share_ppm,
        min_partial_notional=min_partial_notional,
    )
    log LiquidationParamsChanged(
        market=market,
        fraction_ppm=fraction_ppm,
        penalty_ppm=penalty_ppm,
        liquidator_share_ppm=liquidator_share_ppm,
        min_partial_notional=min_partial_notional,
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
