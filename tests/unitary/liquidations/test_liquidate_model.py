"""``Exchange.liquidate`` against the reference model (``perpdex.core.liquidation``).

Random accounts open cross and isolated positions by real signed trades, funding is posted
and prices move; then random liquidators try random steps. The model, fed only the
ledger's own state, must predict each refusal's reason, or the step, the ``Liquidated``,
``InsuranceDrawn`` and ``FundingSettled`` events and every view after it, to the unit.
"""

from __future__ import annotations

import boa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.unitary.exchange.venue import USDC, Actor, Venue
from tests.unitary.liquidations.scenario import (
    LIQUIDATOR,
    MAKER,
    MARKETS,
    RICH,
    TRADER,
    Opening,
    assert_model_equals_contract,
    liquidate_step,
    move_against,
    open_positions,
    open_trader,
    post_funding,
    set_price_percent,
    trade,
)
from tests.unitary.margin.ledger import Ledger, mark_prices

from perpdex.chain.markets import default_markets
from perpdex.core.liquidation import LIQUIDATOR_MARGIN, Refused
from perpdex.core.types import MarginMode, MarketId

ACTORS = [TRADER, MAKER, LIQUIDATOR]
CAP = 500_000  # the default funding rate cap: rates are drawn up to twice it

markets = st.sampled_from(MARKETS)
# (market, buys, leverage in tenths, margin mode): up to 19x (the market allows 20x)
opens = st.lists(
    st.tuples(markets, st.booleans(), st.integers(10, 190), st.sampled_from(MarginMode)),
    min_size=1,
    max_size=2,
)
rates = st.lists(st.tuples(markets, st.integers(-2 * CAP, 2 * CAP)), max_size=2)
# the first position's market moves so that its equity ends near this many tenths of a
# percent of its notional (maintenance is 3%, the penalty 1.5%), the other by up to 10%
equity_left = st.integers(-20, 40)
other_move = st.integers(-100, 100)
# which of the trader's positions (the last index: the other market), and by whom: the
# trader themself now and then (a self-liquidation is refused)
steps = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 0, 1, 2]), st.sampled_from([LIQUIDATOR, MAKER] * 3 + [TRADER])
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    deposit=st.integers(50, 3_000).map(lambda whole: whole * USDC),
    fund=st.sampled_from([10_000 * USDC, 0, 1, 50 * USDC, 10_000 * USDC]),
    positions=opens,
    rates=rates,
    equity_left=equity_left,
    other_move=other_move,
    steps=steps,
)
@example(  # a 10x long gapped 8% down: partial steps, penalty shared, the fund gains
    deposit=1_000 * USDC, fund=0, positions=[(MarketId(0), True, 100, MarginMode.CROSS)],
    rates=[], equity_left=20, other_move=0, steps=[(0, LIQUIDATOR)] * 3,
)  # fmt: skip
@example(  # an isolated long gapped through its margin: closed whole, the fund covers it
    deposit=1_000 * USDC, fund=10_000 * USDC,
    positions=[(MarketId(0), True, 100, MarginMode.ISOLATED)],
    rates=[], equity_left=-10, other_move=0, steps=[(0, MAKER)],
)  # fmt: skip
def test_liquidate_matches_model(
    venue: Venue, deposit: int, fund: int,
    positions: list[Opening],
    rates: list[tuple[MarketId, int]], equity_left: int, other_move: int,
    steps: list[tuple[int, Actor]],
) -> None:  # fmt: skip
    with boa.env.anchor():
        ledger = Ledger.of(venue.markets)
        open_trader(venue, ledger, deposit, fund, positions)
        for market, rate in rates:
            post_funding(venue, ledger, market, rate)
        move_against(venue, positions[0], equity_left, other_move)
        assert_model_equals_contract(venue, ledger, ACTORS)
        for which, liquidator in steps:
            market = positions[which][0] if which < len(positions) else MarketId(1 - which % 2)
            liquidate_step(venue, ledger, TRADER, market, liquidator)
            assert_model_equals_contract(venue, ledger, ACTORS)


def test_liquidation_refused_at_a_stale_price(venue: Venue) -> None:
    ledger = Ledger.of(venue.markets)
    open_positions(venue, ledger, MAKER, RICH, [])
    open_positions(
        venue, ledger, TRADER, 1_000 * USDC, [(MarketId(0), True, 100, MarginMode.CROSS)]
    )
    set_price_percent(venue, MarketId(0), 92)
    boa.env.time_travel(seconds=venue.markets.oracle_limits(0).max_price_age + 1)
    with boa.env.prank(LIQUIDATOR.address), boa.reverts("exchange: stale price"):
        venue.exchange.liquidate(TRADER.address, 0)


def test_liquidator_deficit_is_never_created_from_nothing(venue: Venue) -> None:
    """Regression (found by this model): an underwater liquidator whose step closes its
    last cross position would realise its loss below zero, and ``_move_position`` zeroes
    that collateral and returns the deficit. ``liquidate`` used to drop it, so the vault
    owed more than it held; now such a liquidator is refused like any other that ends
    below initial margin."""
    ledger = Ledger.of(venue.markets)
    btc, eth = MarketId(0), MarketId(1)
    for who, amount in ((TRADER, 2_000 * USDC), (MAKER, 10**7 * USDC), (LIQUIDATOR, 50 * USDC)):
        venue.fund(who, amount)
        ledger.credit(who.address, amount)
    btc_spec, eth_spec = default_markets()
    # the trader: long 300 lots of BTC, short much more ETH; the liquidator: short the
    # 90 lots (30%, a whole number of lots) one step of the trader's BTC will close
    long, step = 300 * btc_spec.lot_size, 90 * btc_spec.lot_size
    assert trade(venue, ledger, MAKER, TRADER, btc, True, long, btc_spec.index_price)
    short = 600 * eth_spec.lot_size
    assert trade(venue, ledger, MAKER, TRADER, eth, False, short, eth_spec.index_price)
    assert trade(venue, ledger, MAKER, LIQUIDATOR, btc, False, step, btc_spec.index_price)
    # both prices rise 10%: the trader is below maintenance, the liquidator under water
    set_price_percent(venue, btc, 110)
    set_price_percent(venue, eth, 110)
    prices = mark_prices(venue.markets)
    assert ledger.cross_health(LIQUIDATOR.address, prices).equity < 0
    with pytest.raises(Refused, match=LIQUIDATOR_MARGIN):  # the model refuses it too
        ledger.liquidate(TRADER.address, LIQUIDATOR.address, btc, prices)
    with boa.env.prank(LIQUIDATOR.address), boa.reverts(LIQUIDATOR_MARGIN):
        venue.exchange.liquidate(TRADER.address, btc)
