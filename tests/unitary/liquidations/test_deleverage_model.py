"""``Exchange.deleverage`` against the reference model (``perpdex.core.liquidation``).

A trader opens positions by real signed trades and a rival takes the other side at a price
that may be bad for it; funding is posted; the trader's first market then gaps through
its bankruptcy while the insurance fund holds little. Random liquidation and deleveraging
attempts against random counterparties follow. The model, fed only the ledger's state,
must predict each refusal's reason, or the amount, the ``Deleveraged``, ``InsuranceDrawn``
and ``FundingSettled`` events and every view after it, to the unit.
"""

from __future__ import annotations

import boa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.unitary.exchange.venue import USDC, Actor, Venue, actor
from tests.unitary.liquidations.scenario import (
    LIQUIDATOR,
    MAKER,
    MARKETS,
    TRADER,
    Opening,
    assert_model_equals_contract,
    deleverage_step,
    liquidate_step,
    move_against,
    open_trader,
    post_funding,
    trade,
)
from tests.unitary.margin.ledger import Ledger

from perpdex.chain.markets import default_markets
from perpdex.core.types import MarginMode, MarketId

RIVAL = actor("rival")
ACTORS = [TRADER, MAKER, LIQUIDATOR, RIVAL]
CAP = 500_000  # the default funding rate cap: rates are drawn up to twice it

markets = st.sampled_from(MARKETS)
opens = st.lists(
    st.tuples(markets, st.booleans(), st.integers(50, 190), st.sampled_from(MarginMode)),
    min_size=1,
    max_size=2,
)
# the rival's size (lots) and how many tenths of a percent worse than the index it trades
rivals = st.tuples(st.integers(1, 300), st.integers(0, 100), st.sampled_from(MarginMode))
rates = st.lists(st.tuples(markets, st.integers(-2 * CAP, 2 * CAP)), max_size=2)
# equity left of the first position, tenths of a percent of its notional: mostly bankrupt
equity_left = st.integers(-40, 5)
steps = st.lists(
    st.tuples(
        st.sampled_from(["deleverage"] * 3 + ["liquidate"]),
        st.sampled_from([0, 0, 1]),
        st.sampled_from([RIVAL, MAKER] * 2 + [LIQUIDATOR, TRADER]),
    ),
    min_size=1,
    max_size=4,
)


def open_rival(
    venue: Venue, ledger: Ledger, opening: Opening, rival: tuple[int, int, MarginMode]
) -> None:
    """The rival takes the side opposite ``opening`` from the maker, ``worse`` tenths of a
    percent off the index against itself."""
    market, buys, _, _ = opening
    lots, worse, mode = rival
    spec = default_markets()[market]
    venue.fund(RIVAL, 1_000 * USDC)
    ledger.credit(RIVAL.address, 1_000 * USDC)
    index = venue.markets.price(market)[0]
    # a short sells lower, a long buys higher: the rival starts at a loss
    price = index * (1_000 + (worse if buys else -worse)) // 1_000
    price = price // spec.tick_size * spec.tick_size
    trade(venue, ledger, MAKER, RIVAL, market, not buys, lots * spec.lot_size, price, mode)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    deposit=st.integers(100, 3_000).map(lambda whole: whole * USDC),
    fund=st.sampled_from([0, 1, 10 * USDC, 100 * USDC]),
    positions=opens,
    rival=rivals,
    rates=rates,
    equity_left=equity_left,
    steps=steps,
)
@example(  # a 10x long gapped 12% down, an empty fund: the rival's short absorbs the loss
    deposit=1_000 * USDC, fund=0, positions=[(MarketId(0), True, 100, MarginMode.CROSS)],
    rival=(50, 0, MarginMode.CROSS), rates=[], equity_left=-20,
    steps=[("deleverage", 0, RIVAL), ("deleverage", 0, MAKER)],
)  # fmt: skip
@example(  # a funding step too small to pay anything still moves the snapshot, and logs it
    deposit=100 * USDC, fund=0, positions=[(MarketId(0), False, 50, MarginMode.CROSS)],
    rival=(1, 0, MarginMode.CROSS), rates=[(MarketId(0), 1)], equity_left=-40,
    steps=[("deleverage", 0, RIVAL)],
)  # fmt: skip
def test_deleverage_matches_model(
    venue: Venue, deposit: int, fund: int, positions: list[Opening],
    rival: tuple[int, int, MarginMode], rates: list[tuple[MarketId, int]], equity_left: int,
    steps: list[tuple[str, int, Actor]],
) -> None:  # fmt: skip
    with boa.env.anchor():
        ledger = Ledger.of(venue.markets)
        open_trader(venue, ledger, deposit, fund, positions)
        open_rival(venue, ledger, positions[0], rival)
        for market, rate in rates:
            post_funding(venue, ledger, market, rate)
        move_against(venue, positions[0], equity_left, 0)
        assert_model_equals_contract(venue, ledger, ACTORS)
        for kind, which, other in steps:
            market = positions[min(which, len(positions) - 1)][0]
            if kind == "liquidate":
                liquidate_step(venue, ledger, TRADER, market, other)
            else:
                deleverage_step(venue, ledger, TRADER, market, other)
            assert_model_equals_contract(venue, ledger, ACTORS)
