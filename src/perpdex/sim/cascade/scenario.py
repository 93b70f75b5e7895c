"""The seeded inputs of a cascade: the traders' books and the price path (pure).

Money stays integer: collateral units, size units and price units of ``perpdex.core.units``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from perpdex.core.types import Collateral, Price, Size
from perpdex.core.units import to_collateral_units, units

PPM = 1_000_000
MIN_LEVERAGE, MAX_LEVERAGE = 5, 18
"""Leverage drawn per trader: 18x stays under the demo markets' 20x with the taker fee."""
MIN_DEPOSIT_USDC, MAX_DEPOSIT_USDC = 2_000, 20_000


@dataclass(frozen=True, slots=True)
class TraderSpec:
    collateral: Collateral
    leverage: int
    size: Size
    """The long's size: ``collateral * leverage`` at the opening price, down to the lot."""


def traders(count: int, seed: int, price: Price, lot: Size) -> list[TraderSpec]:
    """``count`` longs with seeded deposits and leverage, opened at ``price``."""
    rng = random.Random(seed)
    size_scale = units().size_scale
    specs = []
    for _ in range(count):
        collateral = to_collateral_units(rng.randint(MIN_DEPOSIT_USDC, MAX_DEPOSIT_USDC))
        leverage = rng.randint(MIN_LEVERAGE, MAX_LEVERAGE)
        size = collateral * leverage * size_scale // price // lot * lot
        specs.append(TraderSpec(Collateral(collateral), leverage, Size(size)))
    return specs


def crash_path(
    start: Price, drop_ppm: int, steps: int, seed: int, tick: Price, *, hold: int = 2
) -> list[Price]:
    """``start``, then ``steps`` uneven seeded falls adding up to ``drop_ppm`` of ``start``,
    then the low ``hold`` more times (so the liquidator finishes at the low). Each price is
    rounded down to the tick."""
    if not 0 < drop_ppm < PPM:
        raise ValueError("the drop must be between 0% and 100%")
    if steps < 1:
        raise ValueError("the crash needs at least one step")
    rng = random.Random(seed)
    # integer weights keep the path exact: step i falls by weight_i / total of the drop
    weights = [rng.randint(500, 1_500) for _ in range(steps)]
    total = sum(weights)
    path = [start]
    fallen = 0
    for weight in weights:
        fallen += weight
        price = start - start * drop_ppm * fallen // (PPM * total)
        path.append(Price(price // tick * tick))
    return path + [path[-1]] * hold
