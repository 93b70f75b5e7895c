"""The terms the contract would refuse at settlement, refused before matching: fee cap by
the role an order can take, margin mode against the position and the open orders, market
listing and stale prices (docs/architecture.md, "Refused before matching")."""

from __future__ import annotations

from dataclasses import replace

import pytest

from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    sign_order,
)
from perpdex.core.margin import FLAT, MarginParams, MarginPpm, PositionState
from perpdex.core.signing import SigningKey
from perpdex.core.types import Address, Collateral, MarginMode, MarketId, Price, TimeInForce
from perpdex.core.units import to_collateral_units, to_price_units, to_size_units
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import SETTLE_MARGIN_S
from perpdex.risk.check import check_order
from perpdex.risk.events import FeesQueued, LogPosition, MarketParamsSet, QueuedFees
from perpdex.risk.ledger import Account, Ledger, MarketState
from perpdex.risk.prices import Quote
from perpdex.risk.reservations import Reservation
from perpdex.risk.terms import fee_refusal, margin_mode_refusal, resting_fee_ppm

BTC = MarketId(0)
ETH = MarketId(1)
MAKER_FEE = 200
TAKER_FEE = 500
KEY = SigningKey(bytes(range(2, 34)))
DOMAIN = Eip712Domain(ChainId(31337), Address("0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"))
PRICE = Price(to_price_units("100000"))
QUOTE = Quote(PRICE, True, MAKER_FEE, TAKER_FEE)
STATE = MarketState(MarginParams(MarginPpm(50_000), MarginPpm(30_000)), MAKER_FEE, TAKER_FEE)
MARKETS = {BTC: STATE, ETH: STATE}


def _order(
    *,
    tif: TimeInForce = TimeInForce.GTC,
    fee: int = TAKER_FEE,
    mode: MarginMode = MarginMode.CROSS,
    is_buy: bool = True,
    market: MarketId = BTC,
    size: str = "1",
    expiry: int = 2_000_000_000,
) -> Order:
    return Order(
        trader=KEY.address,
        market=market,
        is_buy=is_buy,
        size=to_size_units(size),
        limit_price=PRICE,
        max_fee_ppm=FeePpm(fee),
        margin_mode=mode,
        time_in_force=tif,
        reduce_only=False,
        expiry=UnixTime(expiry),
        nonce=Nonce(1),
    )


def _signed(order: Order) -> SignedOrder:
    return sign_order(order, KEY, DOMAIN)


def _position(size: str, *, isolated: bool) -> PositionState:
    units = to_size_units(size)
    quote = Collateral(-units * PRICE // 10**8)
    margin = Collateral(to_collateral_units("10000") if isolated else 0)
    return PositionState(units, quote, isolated, margin)


@pytest.mark.parametrize("tif", list(TimeInForce))
def test_fee_cap_below_the_fee_of_a_role_the_order_can_take_is_refused(tif: TimeInForce) -> None:
    needed = {
        TimeInForce.POST_ONLY: MAKER_FEE,
        TimeInForce.IOC: TAKER_FEE,
        TimeInForce.FOK: TAKER_FEE,
        TimeInForce.GTC: TAKER_FEE,  # may take on arrival: the higher fee
    }[tif]
    assert fee_refusal(_order(tif=tif, fee=needed), QUOTE, None) is None
    refused = fee_refusal(_order(tif=tif, fee=needed - 1), QUOTE, None)
    assert refused is not None and refused.code is ErrorCode.FEE_CAP_TOO_LOW
    assert f"({needed} ppm" in refused.message or f"taker {needed} ppm" in refused.message


def test_gtc_with_only_the_maker_fee_is_refused_and_told_to_use_post_only() -> None:
    refused = fee_refusal(_order(fee=MAKER_FEE), QUOTE, None)
    assert refused is not None and "post-only" in refused.message
    assert fee_refusal(_order(tif=TimeInForce.POST_ONLY, fee=MAKER_FEE), QUOTE, None) is None


def test_fee_cap_follows_a_fee_raised_on_chain() -> None:
    raised = Quote(PRICE, True, MAKER_FEE, TAKER_FEE + 1)
    assert fee_refusal(_order(tif=TimeInForce.IOC, fee=TAKER_FEE), QUOTE, None) is None
    refused = fee_refusal(_order(tif=TimeInForce.IOC, fee=TAKER_FEE), raised, None)
    assert refused is not None and refused.code is ErrorCode.FEE_CAP_TOO_LOW


def test_order_in_the_other_mode_than_the_position_is_refused_naming_the_position_mode() -> None:
    isolated_long = _position("1", isolated=True)
    refused = margin_mode_refusal(_order(mode=MarginMode.CROSS), isolated_long, [])
    assert refused is not None and refused.code is ErrorCode.MARGIN_MODE_CONFLICT
    assert "position in market 0 is isolated" in refused.message
    assert "this order is cross: sign marginMode isolated" in refused.message
    assert "--isolated" in refused.message and "reduce-only" in refused.message
    assert margin_mode_refusal(_order(mode=MarginMode.ISOLATED), isolated_long, []) is None
    # a closing order in the other mode is refused too: the contract checks mode first
    closing = _order(mode=MarginMode.CROSS, is_buy=False)
    assert margin_mode_refusal(closing, isolated_long, []) is not None


def test_order_in_the_other_mode_than_an_open_order_of_the_market_is_refused() -> None:
    resting = Reservation(_signed(_order(mode=MarginMode.CROSS)), to_size_units("1"))
    refused = margin_mode_refusal(_order(mode=MarginMode.ISOLATED), FLAT, [resting])
    assert refused is not None and refused.code is ErrorCode.MARGIN_MODE_CONFLICT
    assert "open cross orders in market 0" in refused.message
    # another market's open orders do not matter
    elsewhere = _order(mode=MarginMode.ISOLATED, market=ETH)
    assert margin_mode_refusal(elsewhere, FLAT, [resting]) is None


def test_a_pending_fill_that_opened_the_position_decides_its_mode() -> None:
    # the position manager hands check_order the account with its unsettled fills applied
    account = Account(to_collateral_units("1000000"))
    account.set_position(BTC, _position("1", isolated=True), 0)
    refused = check_order(account, [], _signed(_order()), {BTC: QUOTE}, MARKETS, {}, {})
    assert refused is not None and refused.code is ErrorCode.MARGIN_MODE_CONFLICT


def test_order_in_a_market_not_listed_on_chain_is_refused() -> None:
    account = Account(to_collateral_units("1000000"))
    refused = check_order(account, [], _signed(_order(market=ETH)), {BTC: QUOTE}, MARKETS, {}, {})
    assert refused is not None and refused.code is ErrorCode.UNKNOWN_MARKET


def test_risk_growing_order_is_refused_while_any_held_market_is_stale() -> None:
    account = Account(to_collateral_units("1000000"))
    account.set_position(ETH, _position("1", isolated=False), 0)
    quotes = {BTC: QUOTE, ETH: replace(QUOTE, fresh=False)}
    refused = check_order(account, [], _signed(_order(market=BTC)), quotes, MARKETS, {}, {})
    assert refused is not None and refused.code is ErrorCode.STALE_PRICE
    assert "market 1 is stale" in refused.message
    # reducing the stale position is still taken
    closing = _signed(_order(market=ETH, is_buy=False))
    assert check_order(account, [], closing, quotes, MARKETS, {}, {}) is None
    fresh = {BTC: QUOTE, ETH: QUOTE}
    assert check_order(account, [], _signed(_order(market=BTC)), fresh, MARKETS, {}, {}) is None


EFFECTIVE_AT = 1_900_000_000
QUEUED = QueuedFees(MAKER_FEE + 300, TAKER_FEE + 300, EFFECTIVE_AT)


def test_order_that_would_still_rest_when_a_queued_fee_rise_applies_must_cover_it() -> None:
    outlives = EFFECTIVE_AT + SETTLE_MARGIN_S + 1
    refused = fee_refusal(_order(fee=TAKER_FEE, expiry=outlives), QUOTE, QUEUED)
    assert refused is not None and refused.code is ErrorCode.FEE_CAP_TOO_LOW
    assert f"queued on chain for {EFFECTIVE_AT}" in refused.message
    assert fee_refusal(_order(fee=TAKER_FEE + 300, expiry=outlives), QUOTE, QUEUED) is None
    # gone from the book before the change can apply: today's fee is enough
    leaves_first = EFFECTIVE_AT + SETTLE_MARGIN_S
    assert fee_refusal(_order(fee=TAKER_FEE, expiry=leaves_first), QUOTE, QUEUED) is None


def test_a_queued_fee_cut_does_not_lower_the_cap_needed_now() -> None:
    cut = QueuedFees(0, 0, EFFECTIVE_AT)
    refused = fee_refusal(_order(fee=TAKER_FEE - 1), QUOTE, cut)
    assert refused is not None and refused.code is ErrorCode.FEE_CAP_TOO_LOW


def test_resting_order_must_cover_the_maker_fee_it_would_rest_to_see() -> None:
    long_lived = _order(expiry=EFFECTIVE_AT + SETTLE_MARGIN_S + 1)
    short_lived = _order(expiry=EFFECTIVE_AT)
    assert resting_fee_ppm(long_lived, QUOTE, QUEUED) == MAKER_FEE + 300
    assert resting_fee_ppm(short_lived, QUOTE, QUEUED) == MAKER_FEE
    assert resting_fee_ppm(long_lived, QUOTE, None) == MAKER_FEE


def test_the_fold_keeps_a_queued_change_until_it_applies_or_is_cancelled() -> None:
    ledger = Ledger()
    params = (MarginPpm(50_000), MarginPpm(30_000))
    ledger.apply(MarketParamsSet(LogPosition(1, 0), BTC, *params, MAKER_FEE, TAKER_FEE))
    ledger.apply(FeesQueued(LogPosition(2, 0), BTC, QUEUED))
    assert ledger.queued_fees == {BTC: QUEUED}
    ledger.apply(FeesQueued(LogPosition(3, 0), BTC, None))  # ParamsCancelled
    assert ledger.queued_fees == {}
    ledger.apply(FeesQueued(LogPosition(4, 0), BTC, QUEUED))
    applied = MarketParamsSet(LogPosition(5, 0), BTC, *params, MAKER_FEE + 300, TAKER_FEE + 300)
    ledger.apply(applied)
    assert ledger.queued_fees == {}
    assert ledger.markets[BTC].maker_fee_ppm == MAKER_FEE + 300
