"""The pre-trade check on hand-made accounts (no chain): the worst case of the open
orders, pending withdrawals, isolated orders, and risk-reducing orders; and the check of
resting orders again after a price move."""

from __future__ import annotations

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
from perpdex.core.margin import MarginParams, MarginPpm, PositionState
from perpdex.core.signing import SigningKey
from perpdex.core.types import (
    Address,
    Collateral,
    MarginMode,
    MarketId,
    Price,
    Side,
    TimeInForce,
)
from perpdex.core.units import to_collateral_units, to_price_units, to_size_units
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import Refusal
from perpdex.risk.check import check_order, unbacked_orders
from perpdex.risk.ledger import Account, MarketState
from perpdex.risk.prices import Quote
from perpdex.risk.reservations import Reservation

BTC = MarketId(0)
KEY = SigningKey(bytes(range(1, 33)))
DOMAIN = Eip712Domain(ChainId(31337), Address("0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"))
MARKETS = {BTC: MarketState(MarginParams(MarginPpm(50_000), MarginPpm(30_000)), 200, 500)}
QUOTES = {BTC: Quote(Price(to_price_units("100000")), True, 200, 500)}


def _order(
    side: Side, size: str, price: str = "100000", mode: MarginMode = MarginMode.CROSS
) -> SignedOrder:
    order = Order(
        trader=KEY.address,
        market=BTC,
        is_buy=side is Side.BUY,
        size=to_size_units(size),
        limit_price=Price(to_price_units(price)),
        max_fee_ppm=FeePpm(500),
        margin_mode=mode,
        time_in_force=TimeInForce.GTC,
        reduce_only=False,
        expiry=UnixTime(2_000_000_000),
        nonce=Nonce(1),
    )
    return sign_order(order, KEY, DOMAIN)


def _account(usdc: str, withdrawal: str = "0") -> Account:
    return Account(to_collateral_units(usdc), to_collateral_units(withdrawal))


def _check(account: Account, order: SignedOrder, *open_orders: SignedOrder) -> Refusal | None:
    reserved = [Reservation(o, o.order.size) for o in open_orders]
    return check_order(account, reserved, order, QUOTES, MARKETS, {}, {})


def test_initial_margin_at_the_limit_price_decides() -> None:
    # 1 BTC at 100,000: 5,000 initial margin plus 50 fee
    assert _check(_account("5050"), _order(Side.BUY, "1")) is None
    assert _check(_account("5049"), _order(Side.BUY, "1")) is not None
    # a buy limited above the price loses the difference at once
    assert _check(_account("5050"), _order(Side.BUY, "1", "100100")) is not None


def test_open_orders_on_the_same_side_add_up() -> None:
    open_buy = _order(Side.BUY, "1")
    assert _check(_account("10100"), _order(Side.BUY, "1"), open_buy) is None
    assert _check(_account("10000"), _order(Side.BUY, "1"), open_buy) is not None
    # opposite sides cannot both fill in full: the worse side counts
    assert _check(_account("5050"), _order(Side.SELL, "1"), open_buy) is None


def test_a_pending_withdrawal_counts_as_gone() -> None:
    assert _check(_account("6000", withdrawal="1000"), _order(Side.BUY, "1")) is not None
    assert _check(_account("6000", withdrawal="900"), _order(Side.BUY, "1")) is None


def test_reducing_orders_pass_and_modes_cannot_mix() -> None:
    account = _account("0")
    long = PositionState(
        to_size_units("1"), Collateral(-to_collateral_units("100000")), False, Collateral(0)
    )
    account.set_position(BTC, long, 0)
    assert _check(account, _order(Side.SELL, "1")) is None  # closing needs no margin
    assert _check(account, _order(Side.SELL, "1.5")) is not None  # flipping does
    refused = _check(account, _order(Side.SELL, "1", mode=MarginMode.ISOLATED))
    assert refused is not None and refused.code is ErrorCode.MARGIN_MODE_CONFLICT
    assert "is cross" in refused.message


def test_an_isolated_order_moves_its_margin_from_cross() -> None:
    isolated = _order(Side.BUY, "1", mode=MarginMode.ISOLATED)
    assert _check(_account("5050"), isolated) is None
    assert _check(_account("5049"), isolated) is not None


def _long_one_btc(usdc: str) -> Account:
    account = _account(usdc)
    long = PositionState(
        to_size_units("1"), Collateral(-to_collateral_units("100000")), False, Collateral(0)
    )
    account.set_position(BTC, long, 0)
    return account


def _unbacked(account: Account, price: str, *open_orders: SignedOrder) -> list[SignedOrder]:
    quotes = {BTC: Quote(Price(to_price_units(price)), True, 200, 500)}
    reserved = [Reservation(o, o.order.size) for o in open_orders]
    return [r.signed for r in unbacked_orders(account, reserved, quotes, MARKETS, {}, {})]


def test_resting_order_a_price_fall_left_short_of_margin_is_cancelled_before_it_can_fill() -> None:
    # long 1 BTC from 100,000 on 10,100 USDC; a resting buy of 1 more was backed at
    # placement (10,000 initial margin + 50 fee); at 99,000 filling it would leave the
    # account 1,850 USDC short, so the contract's end-of-batch check would drop the fill
    account = _long_one_btc("10100")
    buy = _order(Side.BUY, "1")
    close = _order(Side.SELL, "1", "101000")
    assert _check(account, buy) is None
    assert _unbacked(account, "100000", close, buy) == []
    assert _unbacked(account, "99000", close, buy) == [buy]
    # an order that only closes needs no margin: it is never picked, however far it falls
    assert _unbacked(account, "50000", close) == []


def test_unbacked_resting_orders_are_cancelled_newest_first_keeping_what_still_fits() -> None:
    # at 99,000 one buy of 0.5 still fits (1,150 USDC to spare), both do not
    account = _long_one_btc("10100")
    older = _order(Side.BUY, "0.5")
    newer = _order(Side.BUY, "0.5", "99900")
    assert _unbacked(account, "99000", older, newer) == [newer]


def test_an_oracle_missing_a_heartbeat_does_not_empty_the_book() -> None:
    # a backed resting buy stays while the price is stale (valued at the last good one)
    account = _long_one_btc("10100")
    buy = _order(Side.BUY, "1")
    stale = {BTC: Quote(Price(to_price_units("100000")), False, 200, 500)}
    reserved = [Reservation(buy, buy.order.size)]
    assert unbacked_orders(account, reserved, stale, MARKETS, {}, {}) == []
