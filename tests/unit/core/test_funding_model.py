"""``perpdex.core.funding`` and the funding half of ``perpdex.core.margin``: the rules in
isolation, then health with unsettled funding against the real Exchange.

The chain test interleaves real signed trades (each settles the funding of the positions
it touches) with funding posts and price moves; the model, fed the ledger's events or only
the contract's views, must compute the same positions, snapshots, funding owed and health.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unitary.exchange.venue import USDC, Actor, Venue, actor, deploy_venue
from tests.unitary.liquidations.scenario import (
    MAKER,
    MARKETS,
    assert_model_equals_contract,
    post_funding,
    trade,
)
from tests.unitary.margin.ledger import (
    Ledger,
    funding_indexes,
    health,
    margin_params,
    mark_prices,
    positions_of,
)

from perpdex.chain.markets import default_markets
from perpdex.core import funding, margin
from perpdex.core.margin import FundingIndex, MarginPpm, PositionState
from perpdex.core.types import Collateral, MarginMode, MarketId, Price, Side, Size
from perpdex.core.units import units

ONE = Size(units().size_scale)  # one whole base unit
LONG = PositionState(ONE, Collateral(-1_000), False, Collateral(0), FundingIndex(7))


def test_unsettled_funding_is_zero_at_the_snapshot_and_when_flat() -> None:
    assert margin.unsettled_funding(LONG, FundingIndex(7)) == 0
    assert margin.unsettled_funding(margin.FLAT, FundingIndex(7)) == 0
    assert margin.unsettled_funding(LONG, FundingIndex(10)) == -3  # a long pays a rise


def test_settle_moves_the_funding_into_the_quote_and_the_snapshot_up() -> None:
    settled, amount = funding.settle(LONG, FundingIndex(10))
    assert (settled.quote, settled.funding, amount) == (-1_003, 10, -3)
    assert funding.settle(margin.FLAT, FundingIndex(10)) == (margin.FLAT, 0)


def test_health_counts_unsettled_funding() -> None:
    params = margin.MarginParams(MarginPpm(50_000), MarginPpm(30_000))
    price = Price(1_000)
    without = margin.cross_health(
        Collateral(5), {MarketId(0): LONG}, {MarketId(0): price}, {MarketId(0): params}
    )
    at = {MarketId(0): FundingIndex(10)}
    with_funding = margin.cross_health(
        Collateral(5), {MarketId(0): LONG}, {MarketId(0): price}, {MarketId(0): params}, at
    )
    # no indexes at all read as index zero: the long is owed its snapshot back
    assert without.equity == 5 + 0 + margin.funding_payment(ONE, -7)
    assert with_funding.equity == 5 + 0 - 3
    isolated = PositionState(ONE, Collateral(-1_000), True, Collateral(60), FundingIndex(7))
    assert margin.isolated_health(isolated, price, params, FundingIndex(10)).equity == 57


def test_apply_fill_settles_before_the_fill_and_snapshots_the_index() -> None:
    imr = MarginPpm(50_000)
    position, collateral = margin.apply_fill(
        LONG, Collateral(0), Side.BUY, ONE, Price(1_000), Collateral(1), imr, MarginMode.CROSS,
        FundingIndex(10),
    )  # fmt: skip
    assert position == PositionState(
        Size(2 * ONE), Collateral(-2_004), False, Collateral(0), FundingIndex(10)
    )
    closed, collateral = margin.apply_fill(
        position, collateral, Side.SELL, Size(2 * ONE), Price(1_000), Collateral(0), imr,
        MarginMode.CROSS, FundingIndex(12),
    )  # fmt: skip
    assert closed == margin.FLAT  # a flat position keeps no snapshot
    assert collateral == -2_004 + 2_000 - 4


# ---------------------------------------------------------------- against the Exchange

TRADERS = [actor("funding_trader_0"), actor("funding_trader_1")]
CAP = 500_000  # the default funding rate cap: rates are drawn up to twice it


@dataclass(frozen=True)
class Trade:
    who: Actor
    market: MarketId
    buys: bool
    lots: int
    mode: MarginMode


@dataclass(frozen=True)
class Fund:
    market: MarketId
    rate: int


@dataclass(frozen=True)
class Move:
    market: MarketId
    percent: int


markets = st.sampled_from(MARKETS)
actions = st.lists(
    st.one_of(
        st.builds(
            Trade,
            st.sampled_from(TRADERS),
            markets,
            st.booleans(),
            st.integers(1, 1_500),
            st.sampled_from(MarginMode),
        ),
        st.builds(Fund, markets, st.integers(-2 * CAP, 2 * CAP)),
        st.builds(Move, markets, st.integers(90, 110)),
    ),
    min_size=1,
    max_size=10,
)


@pytest.fixture(scope="module")
def venue() -> Iterator[Venue]:
    with boa.env.anchor():
        yield deploy_venue()


def _act(venue: Venue, ledger: Ledger, action: Trade | Fund | Move) -> None:
    match action:
        case Fund(market, rate):
            post_funding(venue, ledger, market, rate)
        case Move(market, percent):
            venue.set_price(market, Price(venue.markets.price(market)[0] * percent // 100))
        case Trade(who, market, buys, lots, mode):
            spec = default_markets()[market]
            held = ledger.position(who.address, market)
            if held.size:  # an order in the other margin mode would be rejected
                mode = MarginMode.ISOLATED if held.isolated else MarginMode.CROSS
            price = venue.markets.price(market)[0] // spec.tick_size * spec.tick_size
            trade(venue, ledger, MAKER, who, market, buys, lots * spec.lot_size, price, mode)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=actions)
def test_health_with_funding_equals_contract(
    venue: Venue, actions: list[Trade | Fund | Move]
) -> None:
    with boa.env.anchor():
        ledger = Ledger.of(venue.markets)
        for who, amount in [(MAKER, 10**7 * USDC), *((t, 5_000 * USDC) for t in TRADERS)]:
            venue.fund(who, amount)
            ledger.credit(who.address, amount)
        for action in actions:
            _act(venue, ledger, action)
            assert_model_equals_contract(venue, ledger, [MAKER, *TRADERS])
        prices, params = mark_prices(venue.markets), margin_params(venue.markets)
        indexes = funding_indexes(venue.markets)
        for who in [MAKER, *TRADERS]:  # from the views alone
            collateral = Collateral(venue.exchange.account(who.address)[0])
            positions = positions_of(venue.exchange, venue.markets, who.address)
            from_views = margin.cross_health(collateral, positions, prices, params, indexes)
            assert health(venue.exchange.cross_health(who.address)) == from_views
