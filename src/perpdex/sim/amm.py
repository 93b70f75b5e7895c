"""An oracle-priced pool with a price impact curve, in the style of GMX v2 (gmx-synthetics).

The pool quotes every trade at the oracle price. What moves the trader's price is a charge
(or a rebate) on how the trade changes the open-interest imbalance ``d = longs - shorts``
(collateral units), with ``d0`` before the trade and ``d1`` after it:

* same side of zero, ``|d1| < |d0|`` (the trade rebalances): ``+f_pos * (|d0|^e - |d1|^e)``
* same side of zero, otherwise (the trade unbalances):     ``-f_neg * (|d1|^e - |d0|^e)``
* crossover (``d0`` and ``d1`` on opposite sides):          ``f_pos * |d0|^e - f_neg * |d1|^e``

Positive impact is paid to the trader and capped at ``max_positive_impact_ppm`` of the
trade's size; negative impact is not capped when a position opens (GMX caps it only on
decreases). The impact then changes the position's size in index tokens, never the
collateral: a long gets ``(notional + impact) / price`` tokens, a short
``(notional - impact) / price``, so the execution price is ``notional / tokens``.

Factors are GMX's 30-decimal fixed point numbers, in USD^(1-e): the impact of an imbalance
of ``D`` USD is ``factor / 10^30 * D^e`` USD. Exponents are integers here (GMX also allows
fractional ones, e.g. 2.36): that keeps every step exact integer arithmetic. Every rounding
goes against the trader.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from perpdex.core.rounding import div_floor, mul_div_ceil, mul_div_floor
from perpdex.core.types import Collateral, Price, Side, Size
from perpdex.core.units import units

FACTOR_DECIMALS = 30
"""GMX's fixed point ("float") precision."""
FACTOR_SCALE = 10**FACTOR_DECIMALS
BPS = 10_000

# gmx-synthetics config/markets.ts, Arbitrum BTC/USD market (public configuration):
# negativePositionImpactFactor 1.5e-10 ("0.05% for ~1,600,000 USD of imbalance": the
# marginal impact 2 * f * D at D = 1.6M), positivePositionImpactFactor 9e-11, exponent 2;
# and its base market config: max positive position impact 0.5%, position fee 0.05% for
# trades with positive impact and 0.07% for trades with negative impact.
GMX_BTC_NEGATIVE_FACTOR = 15 * 10 ** (FACTOR_DECIMALS - 11)
GMX_BTC_POSITIVE_FACTOR = 9 * 10 ** (FACTOR_DECIMALS - 11)
GMX_BTC_EXPONENT = 2
GMX_MAX_POSITIVE_IMPACT_PPM = 5_000
GMX_FEE_PPM_POSITIVE_IMPACT = 500
GMX_FEE_PPM_NEGATIVE_IMPACT = 700

NO_OPEN_INTEREST = Collateral(0)


@dataclass(frozen=True, slots=True)
class AmmFill:
    """A position opened against the pool; ``price_impact`` is negative when the trader pays."""

    side: Side
    notional: Collateral
    oracle_price: Price
    price_impact: Collateral
    size: Size
    fee: Collateral

    @property
    def execution_price(self) -> Fraction:
        """Collateral units per whole base unit, exact."""
        return Fraction(self.notional * units().size_scale, self.size)

    @property
    def slippage_bps(self) -> Fraction:
        """How much worse than the oracle price the trader's price is (negative: better)."""
        move = (self.execution_price - self.oracle_price) / self.oracle_price
        return move * self.side * BPS

    @property
    def fee_bps(self) -> Fraction:
        return Fraction(self.fee * BPS, self.notional)


@dataclass(frozen=True, slots=True)
class ImpactPool:
    """The pool's state (open interest) and its pricing parameters (GMX's BTC/USD by default)."""

    oracle_price: Price
    long_open_interest: Collateral = NO_OPEN_INTEREST
    short_open_interest: Collateral = NO_OPEN_INTEREST
    positive_factor: int = GMX_BTC_POSITIVE_FACTOR
    negative_factor: int = GMX_BTC_NEGATIVE_FACTOR
    exponent: int = GMX_BTC_EXPONENT
    max_positive_impact_ppm: int = GMX_MAX_POSITIVE_IMPACT_PPM
    fee_ppm_positive_impact: int = GMX_FEE_PPM_POSITIVE_IMPACT
    fee_ppm_negative_impact: int = GMX_FEE_PPM_NEGATIVE_IMPACT

    def __post_init__(self) -> None:
        if self.oracle_price <= 0:
            raise ValueError("the oracle price must be positive")
        if self.long_open_interest < 0 or self.short_open_interest < 0:
            raise ValueError("open interest cannot be negative")
        if self.positive_factor < 0 or self.negative_factor < 0:
            raise ValueError("impact factors cannot be negative")
        if self.exponent < 1:
            raise ValueError("the impact exponent must be a positive integer")

    @property
    def imbalance(self) -> Collateral:
        """Long minus short open interest, collateral units (signed)."""
        return Collateral(self.long_open_interest - self.short_open_interest)

    def price_impact(self, side: Side, notional: Collateral) -> Collateral:
        """The impact of opening ``notional`` on ``side``: negative when the trader pays."""
        if notional < 0:
            raise ValueError("notional cannot be negative")
        before = self.imbalance
        after = before + side * notional
        e = self.exponent
        if before * after < 0:  # crossover: rebate up to balance, charge beyond it
            numerator = self.positive_factor * abs(before) ** e
            numerator -= self.negative_factor * abs(after) ** e
        elif abs(after) < abs(before):
            numerator = self.positive_factor * (abs(before) ** e - abs(after) ** e)
        else:
            numerator = -self.negative_factor * (abs(after) ** e - abs(before) ** e)
        # D^e USD = d^e / scale^e USD = d^e / scale^(e-1) collateral units
        denominator = FACTOR_SCALE * (10 ** units().collateral_decimals) ** (e - 1)
        # floor: a charge rounds up in magnitude and a rebate down, both against the trader
        impact = div_floor(numerator, denominator)
        cap = mul_div_floor(notional, self.max_positive_impact_ppm, units().fraction_scale)
        return Collateral(min(impact, cap))

    def open(self, side: Side, notional: Collateral) -> AmmFill:
        """Open a position of ``notional`` collateral units at the oracle price plus impact."""
        if notional <= 0:
            raise ValueError("notional must be positive")
        impact = self.price_impact(side, notional)
        scale, price = units().size_scale, self.oracle_price
        # a long's tokens round down and a short's up: both make the price worse
        if side is Side.BUY:
            size = mul_div_floor(notional + impact, scale, price)
        else:
            size = mul_div_ceil(notional - impact, scale, price)
        if size <= 0:
            raise ValueError(f"the price impact {impact} leaves no position")
        fee_ppm = self.fee_ppm_negative_impact if impact < 0 else self.fee_ppm_positive_impact
        fee = mul_div_ceil(notional, fee_ppm, units().fraction_scale)
        return AmmFill(side, notional, price, impact, Size(size), Collateral(fee))
