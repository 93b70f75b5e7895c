"""The SDK's trigger arithmetic: triggers as a trader writes them, worst prices on the tick
(never less slippage than asked), and the attached stop-loss and take-profit of a long
and of a short."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perpdex.core.eip712 import FeePpm, Nonce, Order, UnixTime
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    Price,
    Side,
    Size,
    TimeInForce,
    TriggerDirection,
)
from perpdex.core.units import to_price_units, to_size_units
from perpdex.sdk.triggers import (
    NO_TRIGGER,
    Trigger,
    TriggerError,
    attached,
    market_close,
    superseded,
    worst_price,
)


@dataclass(frozen=True)
class Grid:
    symbol: str
    tick_size: Price
    lot_size: Size


BTC = Grid("BTC-PERP", to_price_units("0.5"), to_size_units("0.0001"))
LONG = to_size_units("0.01")


def test_a_trigger_is_both_price_and_direction_or_neither() -> None:
    assert Trigger.parse(None, None, BTC) is NO_TRIGGER
    assert Trigger.parse("97000", "below", BTC) == Trigger(
        to_price_units("97000"), TriggerDirection.AT_OR_BELOW
    )
    assert Trigger.parse("97000.5", TriggerDirection.AT_OR_ABOVE, BTC).direction == 1
    for price, trigger in (("97000", None), (None, "above")):
        with pytest.raises(TriggerError, match="both"):
            Trigger.parse(price, trigger, BTC)
    with pytest.raises(TriggerError, match="above' or 'below"):
        Trigger.parse("97000", "sideways", BTC)
    with pytest.raises(TriggerError, match="not NONE"):
        Trigger.parse("97000", TriggerDirection.NONE, BTC)
    with pytest.raises(ValueError, match="tick"):
        Trigger.parse("97000.25", "below", BTC)  # off the tick: refused before signing


@given(
    reference=st.integers(1, 10**8).map(lambda ticks: Price(ticks * BTC.tick_size)),
    ppm=st.integers(0, 999_999),
    side=st.sampled_from(Side),
)
def test_worst_prices_sit_on_the_tick_and_allow_at_least_the_slippage(
    reference: Price, ppm: int, side: Side
) -> None:
    slippage = Decimal(ppm) / 1_000_000
    worst = worst_price(reference, side, slippage, BTC)
    assert worst % BTC.tick_size == 0 and worst > 0
    exact = Decimal(reference) * (1 + slippage * side)  # BUY is +1, SELL -1
    if side is Side.BUY:
        assert exact <= worst < exact + BTC.tick_size
    elif exact >= BTC.tick_size:
        assert exact - BTC.tick_size < worst <= exact
    else:
        assert worst == BTC.tick_size  # a price is positive: one tick at least


def test_a_slippage_must_be_a_fraction_below_one_in_ppm() -> None:
    for bad in ("1", "-0.01", "0.0000001", "lots"):
        with pytest.raises(TriggerError):
            worst_price(to_price_units("100"), Side.SELL, bad, BTC)


def test_a_longs_stop_loss_and_take_profit_sell_it_all() -> None:
    stop, take = attached(LONG, BTC, stop_loss="97000", take_profit="105000", slippage="0.05")
    assert (stop.side, stop.size, stop.trigger.direction) == (
        Side.SELL,
        LONG,
        TriggerDirection.AT_OR_BELOW,
    )
    assert stop.price == to_price_units("92150")  # 97000 * 0.95
    assert (take.side, take.trigger.direction) == (Side.SELL, TriggerDirection.AT_OR_ABOVE)
    spec = stop.spec("BTC-PERP", MarginMode.ISOLATED)
    assert (spec.time_in_force, spec.reduce_only, spec.margin_mode) == (
        TimeInForce.IOC,
        True,
        MarginMode.ISOLATED,
    )
    assert (spec.trigger_price, spec.trigger, spec.size) == (
        Decimal("97000"),
        TriggerDirection.AT_OR_BELOW,
        Decimal("0.01"),
    )


def test_a_shorts_stop_loss_is_above_and_buys() -> None:
    (stop,) = attached(Size(-LONG), BTC, stop_loss="103000", take_profit=None, slippage="0.01")
    assert (stop.side, stop.trigger.direction) == (Side.BUY, TriggerDirection.AT_OR_ABOVE)
    assert stop.price == to_price_units("104030")


@pytest.mark.parametrize(
    ("position", "stop_loss", "take_profit"),
    [(LONG, "105000", "97000"), (-LONG, "97000", "105000"), (LONG, "100000", "100000")],
)
def test_a_stop_loss_past_the_take_profit_is_refused(
    position: int, stop_loss: str, take_profit: str
) -> None:
    with pytest.raises(TriggerError, match="must be"):
        attached(position, BTC, stop_loss=stop_loss, take_profit=take_profit, slippage="0")


def test_nothing_to_attach_or_close_is_an_error() -> None:
    with pytest.raises(TriggerError, match="no position"):
        attached(0, BTC, stop_loss="97000", take_profit=None, slippage="0")
    with pytest.raises(TriggerError, match="give a stop_loss"):
        attached(LONG, BTC, stop_loss=None, take_profit=None, slippage="0")


def test_a_market_close_takes_the_whole_position_against_the_mark() -> None:
    close = market_close(Size(-LONG), to_price_units("100000"), "0.005", BTC)
    assert (close.side, close.size, close.price, close.trigger) == (
        Side.BUY,
        LONG,
        to_price_units("100500"),
        NO_TRIGGER,
    )
    assert close.spec("BTC-PERP", MarginMode.CROSS).trigger is None


def test_new_attached_orders_replace_those_of_their_kind_only() -> None:
    stop, take = attached(LONG, BTC, stop_loss="97000", take_profit="105000", slippage="0.05")

    def terms(side: Side, direction: TriggerDirection, *, reduce_only: bool = True) -> Order:
        return Order(
            trader=Address("0x" + "11" * 20),
            market=MarketId(0),
            is_buy=side is Side.BUY,
            size=LONG,
            limit_price=to_price_units("90000"),
            max_fee_ppm=FeePpm(500),
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.IOC,
            reduce_only=reduce_only,
            expiry=UnixTime(2_000_000_000),
            nonce=Nonce(1),
            trigger_price=Price(0 if direction is TriggerDirection.NONE else 1),
            trigger_direction=direction,
        )

    below, above = TriggerDirection.AT_OR_BELOW, TriggerDirection.AT_OR_ABOVE
    open_orders = [
        ("old-stop", terms(Side.SELL, below)),
        ("old-take", terms(Side.SELL, above)),
        ("a-plain-reduce-only", terms(Side.SELL, TriggerDirection.NONE)),
        ("an-opening-stop", terms(Side.SELL, below, reduce_only=False)),
        ("a-short-stop", terms(Side.BUY, above)),
    ]
    assert superseded([stop], open_orders) == ["old-stop"]
    assert superseded([stop, take], open_orders) == ["old-stop", "old-take"]
