"""``perpdex.core.margin``: the rules in isolation, then against the real Exchange.

The pure tests pin each rule's boundary; the chain tests settle random fills on the
compiled Exchange (titanoboa) and demand that the model, fed the contract's views or only
the emitted events, computes the same health, positions and collateral to the unit.
"""

from __future__ import annotations

from collections.abc import Iterator

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unitary.exchange.venue import USDC, Actor, Venue, actor, deploy_venue, match
from tests.unitary.margin.ledger import (
    Ledger,
    health,
    margin_params,
    mark_prices,
    market_ids,
    position_of,
    positions_of,
)

from perpdex.chain.markets import default_markets
from perpdex.core import margin
from perpdex.core.margin import Health, MarginPpm, PositionState
from perpdex.core.types import Collateral, MarginMode, MarketId, Price, Side, Size
from perpdex.core.units import units

BTC = default_markets()[0]
IMR = MarginPpm(BTC.initial_margin_ppm)


def _health(equity: int, initial: int, maintenance: int) -> Health:
    return Health(Collateral(equity), Collateral(initial), Collateral(maintenance))


@pytest.mark.parametrize(
    ("old", "new", "grown"),
    [(0, 5, 5), (5, 8, 3), (-5, -8, 3), (5, 2, 0), (5, 5, 0), (5, -3, 3), (-5, 2, 2), (5, 0, 0)],
)
def test_growth_counts_added_exposure_and_whole_flips(old: int, new: int, grown: int) -> None:
    assert margin.growth(Size(old), Size(new)) == grown


@pytest.mark.parametrize(
    ("pre", "post", "expected"),
    [(5, 0, True), (5, 3, True), (5, 5, True), (-5, -3, True), (5, 6, False), (5, -1, False)],
)
def test_reduced_means_shrank_without_flipping(pre: int, post: int, expected: bool) -> None:
    assert margin.reduced(Size(pre), Size(post)) is expected


def test_acceptable_when_initial_margin_is_met_whatever_the_risk() -> None:
    assert margin.acceptable(_health(0, 0, 0), _health(10, 10, 6), risk_reduced=False)


def test_acceptable_below_initial_needs_reduced_risk() -> None:
    pre, post = _health(100, 200, 100), _health(90, 150, 80)
    assert margin.acceptable(pre, post, risk_reduced=True)
    assert not margin.acceptable(pre, post, risk_reduced=False)


def test_acceptable_compares_margin_ratios_exactly() -> None:
    pre = _health(90, 200, 100)  # ratio 0.9
    assert margin.acceptable(pre, _health(45, 100, 50), risk_reduced=True)  # 0.9: equal
    assert not margin.acceptable(pre, _health(44, 100, 50), risk_reduced=True)  # 0.88


def test_acceptable_never_leaves_negative_equity() -> None:
    pre = _health(-100, 200, 100)  # any ratio beats a negative one
    assert not margin.acceptable(pre, _health(-1, 10, 5), risk_reduced=True)
    assert margin.acceptable(pre, _health(0, 10, 5), risk_reduced=True)


def test_apply_fill_refuses_a_fill_whose_notional_rounds() -> None:
    with pytest.raises(ValueError, match="off the grid"):
        margin.apply_fill(
            margin.FLAT,
            Collateral(0),
            Side.BUY,
            Size(1),
            Price(1),
            Collateral(0),
            IMR,
            MarginMode.CROSS,
        )


def test_isolated_open_funds_its_margin_and_fee_from_cross() -> None:
    size, price = Size(units().size_scale), Price(BTC.index_price)  # one whole unit
    fee = Collateral(50)
    position, collateral = margin.apply_fill(
        margin.FLAT, Collateral(10**10), Side.BUY, size, price, fee, IMR, MarginMode.ISOLATED
    )
    moved = price * IMR // units().fraction_scale + fee
    assert position == PositionState(size, Collateral(-price - fee), True, Collateral(moved))
    assert collateral == 10**10 - moved


def test_isolated_close_beyond_its_margin_keeps_the_loss_on_record() -> None:
    opened = PositionState(Size(units().size_scale), Collateral(-1_000), True, Collateral(100))
    closed, collateral = margin.apply_fill(
        opened, Collateral(7), Side.SELL, opened.size, Price(500), Collateral(0), IMR,
        MarginMode.ISOLATED,
    )  # fmt: skip
    assert closed == PositionState(Size(0), Collateral(-500), True, Collateral(100))
    assert collateral == 7


def test_apply_fill_refuses_a_quote_beyond_its_packed_field() -> None:
    # the contract's _pack_position reverts the batch: the model raises instead
    deep = PositionState(Size(1), Collateral(-(2**95) + 1), False, Collateral(0))
    lot, price = Size(units().size_scale), Price(BTC.index_price)
    with pytest.raises(margin.OutOfRangeError):
        margin.apply_fill(
            deep, Collateral(0), Side.BUY, lot, price, Collateral(0), IMR, MarginMode.CROSS
        )


# ---------------------------------------------------------------- against the Exchange

TRADERS = [actor("trader_0"), actor("trader_1")]
MAKER = actor("maker_0")

trades = st.lists(
    st.tuples(
        st.sampled_from(TRADERS),
        st.booleans(),  # trader buys
        st.integers(min_value=1, max_value=2_000),  # lots
        st.integers(min_value=-300, max_value=300),  # ticks away from the index price
        st.sampled_from(MarginMode),
        st.sampled_from([MarketId(m) for m in range(len(default_markets()))]),
    ),
    min_size=1,
    max_size=6,
)
moves = st.lists(st.integers(min_value=70, max_value=130), min_size=2, max_size=2)  # percent


@pytest.fixture(scope="module")
def venue() -> Iterator[Venue]:
    with boa.env.anchor():
        yield deploy_venue()


def _trade(
    venue: Venue, ledger: Ledger, trader: Actor, buys: bool, lots: int, ticks: int,
    mode: MarginMode, market: MarketId,
) -> None:  # fmt: skip
    spec = default_markets()[market]
    price, size = spec.index_price + ticks * spec.tick_size, lots * spec.lot_size
    maker_order = venue.order(MAKER, is_buy=not buys, size=size, price=price, market=market)
    taker_order = venue.order(
        trader, is_buy=buys, size=size, price=price, market=market, margin_mode=mode
    )
    try:
        logs = venue.settle(match(maker_order, taker_order))
    except BoaError:
        return  # the end-of-batch margin check refused it: nothing moved
    for filled in (log for log in logs if type(log).__name__ == "Filled"):
        ledger.apply(filled, maker_order.order, taker_order.order)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(trades=trades, moves=moves)
def test_model_health_equals_contract_after_random_fills(
    venue: Venue, trades: list[tuple[Actor, bool, int, int, MarginMode, MarketId]],
    moves: list[int],
) -> None:  # fmt: skip
    exchange = venue.exchange
    with boa.env.anchor():
        ledger = Ledger(margin_params(venue.markets))
        for who, amount in [(MAKER, 10**7 * USDC), *((t, 2_000 * USDC) for t in TRADERS)]:
            venue.fund(who, amount)
            ledger.credit(who.address, amount)
        for trade in trades:
            _trade(venue, ledger, *trade)
        for market, percent in zip(market_ids(venue.markets), moves, strict=True):
            venue.set_price(market, Price(default_markets()[market].index_price * percent // 100))
        prices, params = mark_prices(venue.markets), margin_params(venue.markets)

        for who in [MAKER, *TRADERS]:
            trader = who.address
            collateral = Collateral(exchange.account(trader)[0])
            positions = positions_of(exchange, venue.markets, trader)
            from_views = margin.cross_health(collateral, positions, prices, params)
            assert health(exchange.cross_health(trader)) == from_views
            assert ledger.cross_health(trader, prices) == from_views  # from events alone
            assert ledger.cross_collateral(trader) == collateral
            for market in market_ids(venue.markets):
                position = position_of(exchange, trader, market)
                assert ledger.position(trader, market) == position
                expected = margin.isolated_health(position, prices[market], params[market])
                assert health(exchange.isolated_health(trader, market)) == expected
        assert ledger.fee_pool == exchange.fee_pool()
