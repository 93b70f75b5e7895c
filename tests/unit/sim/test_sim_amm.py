"""The oracle-priced pool: GMX v2-style impact against an exact rational reference."""

from __future__ import annotations

from fractions import Fraction
from math import floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpdex.core.types import Collateral, Price, Side
from perpdex.core.units import to_collateral_units, to_price_units
from perpdex.sim.amm import FACTOR_SCALE, ImpactPool

USDC = 10**6
PRICE = to_price_units("100000")
usd = st.integers(min_value=0, max_value=200_000_000 * USDC)
positive_usd = st.integers(min_value=USDC, max_value=200_000_000 * USDC)
sides = st.sampled_from([Side.BUY, Side.SELL])
factors = st.integers(min_value=0, max_value=10**22)  # up to 1e-8 per USD
exponents = st.integers(min_value=1, max_value=3)


def pool(skew: int = 0, **params: int) -> ImpactPool:
    return ImpactPool(
        Price(PRICE),
        long_open_interest=Collateral(max(skew, 0)),
        short_open_interest=Collateral(max(-skew, 0)),
        **params,
    )


def reference_impact(p: ImpactPool, side: Side, notional: int) -> Fraction:
    """The impact in collateral units, exactly, from the formula in USD."""
    before = Fraction(p.imbalance, USDC)
    after = before + Fraction(side * notional, USDC)
    pos, neg = Fraction(p.positive_factor, FACTOR_SCALE), Fraction(p.negative_factor, FACTOR_SCALE)
    e = p.exponent
    if before * after < 0:
        impact = pos * abs(before) ** e - neg * abs(after) ** e
    elif abs(after) < abs(before):
        impact = pos * (abs(before) ** e - abs(after) ** e)
    else:
        impact = -neg * (abs(after) ** e - abs(before) ** e)
    cap = Fraction(notional * p.max_positive_impact_ppm, 10**6)
    impact *= USDC
    return impact if impact < cap else cap


def test_gmx_btc_figures_by_hand() -> None:
    # 1.5e-10 * 500,000^2 = 37.5 USD from a balanced pool
    assert pool().price_impact(Side.BUY, to_collateral_units("500000")) == -37_500_000
    # the marginal impact 2 * f * D at D = 1.6M is GMX's "0.05% for ~1,600,000 USD"
    d = to_collateral_units("1600000")
    step = to_collateral_units("1000")
    marginal = -pool(d).price_impact(Side.BUY, step) / step
    assert marginal == pytest.approx(0.00048, rel=1e-3)


@settings(max_examples=300, deadline=None)
@given(
    skew=st.integers(min_value=-100_000_000 * USDC, max_value=100_000_000 * USDC),
    side=sides,
    notional=usd,
    positive=factors,
    negative=factors,
    exponent=exponents,
)
def test_impact_is_the_formula_rounded_against_the_trader(
    skew: int, side: Side, notional: int, positive: int, negative: int, exponent: int
) -> None:
    p = pool(skew, positive_factor=positive, negative_factor=negative, exponent=exponent)
    assert p.price_impact(side, Collateral(notional)) == floor(reference_impact(p, side, notional))


@settings(max_examples=100, deadline=None)
@given(skew=st.integers(min_value=-(10**15), max_value=10**15), side=sides)
def test_zero_size_has_zero_impact(skew: int, side: Side) -> None:
    assert pool(skew).price_impact(side, Collateral(0)) == 0


@settings(max_examples=200, deadline=None)
@given(side=sides, a=usd, b=usd)
def test_impact_grows_with_size(side: Side, a: int, b: int) -> None:
    small, large = sorted((a, b))
    balanced = pool()
    assert (
        balanced.price_impact(side, Collateral(large))
        <= balanced.price_impact(side, Collateral(small))
        <= 0
    )


@settings(max_examples=200, deadline=None)
@given(skew=st.integers(min_value=-(10**15), max_value=10**15), notional=usd)
def test_mirrored_pools_price_the_mirrored_trade_alike(skew: int, notional: int) -> None:
    buy = pool(skew).price_impact(Side.BUY, Collateral(notional))
    assert buy == pool(-skew).price_impact(Side.SELL, Collateral(notional))


@settings(max_examples=200, deadline=None)
@given(skew=st.integers(min_value=-(10**15), max_value=10**15), side=sides, notional=usd)
def test_open_then_reverse_never_gains(skew: int, side: Side, notional: int) -> None:
    # positive factor below the negative one (GMX's rule against manipulation): a round trip
    # at the same oracle price pays at least what it is rebated
    first = pool(skew)
    back = pool(skew + side * notional)
    total = first.price_impact(side, Collateral(notional))
    total += back.price_impact(side.opposite, Collateral(notional))
    assert total <= 0


def test_asymmetric_factors_rebate_less_than_they_charge() -> None:
    n = to_collateral_units("1000000")
    charged = pool().price_impact(Side.BUY, n)
    rebated = pool(n).price_impact(Side.SELL, n)
    assert charged == -150_000_000  # 1.5e-10 * 1e12 USD
    assert rebated == 90_000_000  # 9e-11 * 1e12 USD


def test_positive_impact_is_capped() -> None:
    skew = to_collateral_units("100000000")
    n = to_collateral_units("50000000")
    rebate = pool(skew).price_impact(Side.SELL, n)
    assert rebate == n * 5_000 // 10**6  # 0.5% of the trade, not 9e-11 * (1e16 - 2.5e15)


@settings(max_examples=200, deadline=None)
@given(skew=st.integers(min_value=-(10**14), max_value=10**14), side=sides, notional=positive_usd)
def test_fill_rounds_against_the_trader(skew: int, side: Side, notional: int) -> None:
    p = pool(skew)
    fill = p.open(side, Collateral(notional))
    exact_tokens = Fraction(notional + side * fill.price_impact, PRICE)  # whole BTC
    exact_price = Fraction(notional, 1) / exact_tokens
    # a buyer's price is never below, a seller's never above, the unrounded price
    assert (fill.execution_price - exact_price) * side >= 0
    assert fill.fee * 10**6 >= notional * (700 if fill.price_impact < 0 else 500)


def test_bad_pools_and_orders_are_refused() -> None:
    with pytest.raises(ValueError):
        pool(exponent=0)
    with pytest.raises(ValueError):
        pool(negative_factor=-1)
    with pytest.raises(ValueError):
        ImpactPool(Price(0))
    with pytest.raises(ValueError):
        pool().open(Side.BUY, Collateral(0))
    with pytest.raises(ValueError):
        pool().price_impact(Side.BUY, Collateral(-1))
