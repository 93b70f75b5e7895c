"""The admin cannot seize a healthy account (issue 11, hole 14).

The reported attack: the admin raises maintenance to 99.9999%, the penalty just below it,
the liquidator's share to 100% and ``min_partial_notional`` to 2**255, and a colluding
liquidator takes a healthy account's whole equity. Now every parameter has hard bounds,
and a change that stays inside them applies only ``PARAMS_DELAY`` after its announcement,
longer than the longest withdrawal delay: a trader who leaves on the announcement is paid
first, and one who stays loses at most the bounded penalty.
"""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, events, listing_args, match

TENTH_BTC = 10_000_000  # size units: 10,000 USDC of notional at the index price
COLLATERAL = 1_500 * USDC  # 15% of the notional: healthy at 3% maintenance, not at 25%


def queue_worst_bounded_change(venue: Venue) -> None:
    """The harshest change the bounds allow against a long: maintenance at its 25% cap,
    the penalty at its 2% cap, the largest step and liquidator share, and every
    position closed whole."""
    markets = venue.markets
    with boa.env.prank(venue.admin.address):
        markets.set_market_params(
            0,
            2,
            500_000,
            markets.MAX_MAINTENANCE_MARGIN_PPM(),
            markets.MAX_FEE_PPM(),
            markets.MAX_FEE_PPM(),
        )
        markets.set_liquidation_params(
            0,
            markets.MAX_LIQUIDATION_FRACTION(),
            markets.MAX_PENALTY_PPM(),
            markets.MAX_LIQUIDATOR_SHARE_PPM(),
            markets.MAX_MIN_PARTIAL_NOTIONAL(),
        )


@pytest.fixture
def healthy_long(venue: Venue, trader: Actor, maker: Actor, liquidator: Actor) -> Venue:
    """``trader`` holds 0.1 BTC long on 1,500 USDC against ``maker``; ``liquidator`` is
    funded and willing."""
    venue.fund(trader, COLLATERAL)
    venue.fund(maker, 100_000 * USDC)
    venue.fund(liquidator, 100_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC)
    health = venue.exchange.cross_health(trader.address)
    assert health.equity > health.maintenance
    return venue


def test_the_reported_seizure_parameters_are_refused(venue: Venue) -> None:
    with boa.env.prank(venue.admin.address):
        with boa.reverts("markets: maintenance out of bounds"):
            venue.markets.set_market_params(0, 1, 10**6, 999_999, 0, 0)
        with boa.reverts("markets: penalty out of bounds"):
            venue.markets.set_liquidation_params(0, 300_000, 999_998, 10**6, 2**255)
        with boa.reverts("markets: share out of bounds"):
            venue.markets.set_liquidation_params(0, 300_000, 10_000, 10**6, 0)
        with boa.reverts("markets: min partial notional too high"):
            venue.markets.set_liquidation_params(0, 300_000, 10_000, 500_000, 2**255)
    assert venue.markets.pending_at(0) == 0


# (setter, its arguments at a bound (a name is a constant of Markets), the argument pushed
# one past the bound and in which direction, the error)
Arguments = tuple[int | str, ...]
SETTER_BOUNDS: list[tuple[str, Arguments, int, int, str]] = [
    ("set_oracle_limits", ("MIN_PRICE_AGE", 1, 2), 0, -1, "markets: price age out of bounds"),
    ("set_oracle_limits", ("MAX_PRICE_AGE", 1, 2), 0, +1, "markets: price age out of bounds"),
    ("set_oracle_limits", (60, 1, 2**64 - 1), 2, +1, "markets: bad price bounds"),
    ("set_funding_params", ("MIN_FUNDING_INTERVAL", 0), 0, -1, "markets: interval out of bounds"),
    (
        "set_funding_params",
        ("MAX_FUNDING_INTERVAL", "MAX_FUNDING_RATE_CAP"),
        0,
        +1,
        "markets: interval out of bounds",
    ),
    ("set_funding_params", (3_600, "MAX_FUNDING_RATE_CAP"), 1, +1, "markets: rate cap too high"),
    # one-minute intervals: 4% an hour allows 0.0666..% a minute
    ("set_funding_params", (60, 666_666), 1, +1, "markets: rate cap too high"),
    (
        "set_liquidation_params",
        ("MIN_LIQUIDATION_FRACTION", 0, "MIN_LIQUIDATOR_SHARE_PPM", 0),
        0,
        -1,
        "markets: fraction out of bounds",
    ),
    (
        "set_liquidation_params",
        ("MAX_LIQUIDATION_FRACTION", 0, "MAX_LIQUIDATOR_SHARE_PPM", "MAX_MIN_PARTIAL_NOTIONAL"),
        0,
        +1,
        "markets: fraction out of bounds",
    ),
    # the penalty: at most half the maintenance margin (3%)
    (
        "set_liquidation_params",
        (300_000, 15_000, 500_000, 0),
        1,
        +1,
        "markets: penalty out of bounds",
    ),
    (
        "set_liquidation_params",
        (300_000, 0, "MIN_LIQUIDATOR_SHARE_PPM", 0),
        2,
        -1,
        "markets: share out of bounds",
    ),
    (
        "set_liquidation_params",
        (300_000, 0, "MAX_LIQUIDATOR_SHARE_PPM", 0),
        2,
        +1,
        "markets: share out of bounds",
    ),
    (
        "set_liquidation_params",
        (300_000, 0, 500_000, "MAX_MIN_PARTIAL_NOTIONAL"),
        3,
        +1,
        "markets: min partial notional too high",
    ),
]


@pytest.mark.parametrize(("setter", "at_bound", "pushed", "step", "error"), SETTER_BOUNDS)
def test_every_risk_parameter_is_bounded(
    venue: Venue, setter: str, at_bound: Arguments, pushed: int, step: int, error: str
) -> None:
    args = [getattr(venue.markets, a)() if isinstance(a, str) else a for a in at_bound]
    past = [a + step if i == pushed else a for i, a in enumerate(args)]
    change = getattr(venue.markets, setter)
    with boa.env.prank(venue.admin.address):
        with boa.reverts(error):
            change(0, *past)
        change(0, *args)
    assert venue.markets.pending_at(0) != 0


# listing checks the same bounds: (listing arguments at a bound, one past it, the error)
LEVERAGE_50 = {"max_leverage": 50, "initial_margin_ppm": 20_000, "maintenance_margin_ppm": 15_000}
ONE_X = {"max_leverage": 1, "initial_margin_ppm": 10**6}
LISTING_BOUNDS: list[tuple[dict[str, int], dict[str, int], str]] = [
    (LEVERAGE_50, LEVERAGE_50 | {"max_leverage": 51}, "markets: leverage out of bounds"),
    (
        ONE_X | {"maintenance_margin_ppm": 250_000},
        ONE_X | {"maintenance_margin_ppm": 250_001},
        "markets: maintenance out of bounds",
    ),
    (
        {"maintenance_margin_ppm": 5_000},
        {"maintenance_margin_ppm": 4_999},
        "markets: maintenance out of bounds",
    ),
    (
        {"maintenance_margin_ppm": 37_500},
        {"maintenance_margin_ppm": 37_501},
        "markets: maintenance above 3/4 of initial",
    ),
    (
        ONE_X | {"maintenance_margin_ppm": 5_000},
        ONE_X | {"maintenance_margin_ppm": 5_000, "initial_margin_ppm": 10**6 + 1},
        "markets: margin above 100%",
    ),
    (
        {"maker_fee_ppm": 10_000, "taker_fee_ppm": 10_000},
        {"maker_fee_ppm": 10_001},
        "markets: fee too high",
    ),
]


@pytest.mark.parametrize(("at_bound", "past_bound", "error"), LISTING_BOUNDS)
def test_listing_is_bounded_alike(
    venue: Venue, at_bound: dict[str, int], past_bound: dict[str, int], error: str
) -> None:
    args = listing_args(BTC, venue.oracles[0])
    with boa.env.prank(venue.admin.address):
        with boa.reverts(error):
            venue.markets.list_market(*(args | past_bound).values())
        market = venue.markets.list_market(*(args | at_bound).values())
    # in effect at once (nobody can hold a position yet), with a penalty within bounds
    params = venue.markets.market_params(market)
    assert params.maintenance_margin_ppm == (args | at_bound)["maintenance_margin_ppm"]
    terms = venue.markets.liquidation(market)
    assert 2 * terms.penalty_ppm <= params.maintenance_margin_ppm
    assert terms.penalty_ppm <= venue.markets.MAX_PENALTY_PPM()
    assert venue.markets.pending_at(market) == 0


def test_params_delay_is_longer_than_the_longest_withdrawal_delay(venue: Venue) -> None:
    assert venue.markets.PARAMS_DELAY() > venue.exchange.MAX_WITHDRAWAL_DELAY()


def test_a_queued_change_cannot_be_used_before_its_delay(
    healthy_long: Venue, trader: Actor, liquidator: Actor
) -> None:
    venue = healthy_long
    before = venue.markets.market_params(0)
    queue_worst_bounded_change(venue)
    (queued,) = events(list(venue.markets.get_logs()), "ParamsQueued")
    assert queued.effective_at == boa.env.evm.patch.timestamp + venue.markets.PARAMS_DELAY()
    assert queued.config.maintenance_margin_ppm == venue.markets.MAX_MAINTENANCE_MARGIN_PPM()
    assert queued.config.min_partial_notional == venue.markets.MAX_MIN_PARTIAL_NOTIONAL()
    # one second before it is due: nothing changed, the healthy trader is safe
    boa.env.time_travel(seconds=venue.markets.PARAMS_DELAY() - 1)
    venue.refresh_prices()
    with boa.reverts("markets: change not due"):
        venue.markets.apply_params(0)
    assert venue.markets.market_params(0) == before
    with boa.env.prank(liquidator.address), boa.reverts("exchange: account above maintenance"):
        venue.exchange.liquidate(trader.address, 0)


def test_a_trader_who_leaves_on_the_announcement_is_paid_before_the_change(
    healthy_long: Venue, trader: Actor, maker: Actor
) -> None:
    venue = healthy_long
    longest = venue.exchange.MAX_WITHDRAWAL_DELAY()
    with boa.env.prank(venue.admin.address):
        venue.exchange.set_withdrawal_delay(longest)
    queue_worst_bounded_change(venue)
    # on the announcement: close the long and ask for everything
    bid = venue.order(maker, is_buy=True, size=TENTH_BTC, price=BTC.index_price)
    ask = venue.order(trader, is_buy=False, size=TENTH_BTC, price=BTC.index_price)
    venue.settle(match(bid, ask))
    balance = venue.collateral(trader)
    with boa.env.prank(trader.address):
        venue.exchange.request_withdrawal(balance)
    boa.env.time_travel(seconds=longest)
    with boa.env.prank(trader.address):
        venue.exchange.execute_withdrawal()
    assert venue.usdc.balanceOf(trader.address) == balance
    # the change is still not due when the trader is out
    with boa.reverts("markets: change not due"):
        venue.markets.apply_params(0)
    applied = venue.apply_params(0)
    assert events(applied, "LiquidationParamsChanged")
    assert venue.collateral(trader) == 0


def test_a_trader_who_stays_loses_at_most_the_bounded_penalty(
    healthy_long: Venue, trader: Actor, liquidator: Actor, outsider: Actor
) -> None:
    venue = healthy_long
    queue_worst_bounded_change(venue)
    with boa.env.prank(outsider.address):  # anyone may apply a due change
        venue.apply_params(0)
    equity = venue.exchange.cross_health(trader.address).equity
    (liquidated,) = events(venue.liquidate(liquidator, trader), "Liquidated")
    notional = TENTH_BTC * BTC.index_price // 10**8
    # closed whole (under the minimum partial notional), at the index price
    assert (liquidated.full, liquidated.size, liquidated.price) == (
        True,
        -TENTH_BTC,
        BTC.index_price,
    )
    assert liquidated.penalty == notional * venue.markets.MAX_PENALTY_PPM() // 10**6
    # the trader keeps everything but the penalty: 1,295 of 1,495 USDC, not nothing
    assert venue.collateral(trader) == equity - liquidated.penalty
    assert venue.collateral(trader) > 1_200 * USDC
