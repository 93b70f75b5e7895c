"""The oracle's path: a seeded walk, a crash, and a walk on from the low (pure).

The walks are the keeper's :class:`~perpdex.keeper.price_path.RandomWalk` and the crash is
the cascade's :func:`~perpdex.sim.cascade.scenario.crash_path` (uneven seeded steps adding
up to ``crash_ppm``), so the market sim moves prices exactly as those do. The points carry
their time in seconds after the oracle pusher starts; the pusher pushes each when due.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from perpdex.core.types import Price
from perpdex.keeper.price_path import PricePoint, RandomWalk
from perpdex.sim.cascade.scenario import crash_path


@dataclass(frozen=True, slots=True)
class PathSpec:
    start: Price
    tick: Price
    seed: int
    crash_ppm: int
    """0: no crash, the walk goes on."""
    crash_at_s: float
    crash_steps: int = 4
    volatility_ppm: int = 500
    step_s: float = 1.0


def market_path(spec: PathSpec) -> Iterator[PricePoint]:
    """The walk until ``crash_at_s``, the crash one step a ``step_s``, then a walk from the
    low, without end."""
    before = RandomWalk(spec.seed, spec.start, spec.tick, spec.step_s, spec.volatility_ppm)
    last = spec.start
    for point in before:
        if point.at_s >= spec.crash_at_s:
            break
        last = point.price
        yield point
    at = spec.crash_at_s
    if spec.crash_ppm:
        steps = crash_path(last, spec.crash_ppm, spec.crash_steps, spec.seed, spec.tick, hold=0)
        for price in steps[1:]:
            yield PricePoint(at, price)
            at += spec.step_s
        last = steps[-1]
    after = RandomWalk(spec.seed + 1, last, spec.tick, spec.step_s, spec.volatility_ppm)
    for point in itertools.islice(after, 1, None):  # its first point is ``last`` again
        yield PricePoint(at + point.at_s - spec.step_s, point.price)
