"""Price paths for the oracle pusher on a local chain: a file, or a seeded random walk.

A path is an iterator of :class:`PricePoint`: a price (price units) and when to push it,
in seconds after the pusher starts.

* **File** (:func:`load_path`): one decimal price per line, pushed one ``step_s`` apart; or
  CSV lines ``time,price`` (time in seconds, taken relative to the first row; a header row
  is skipped). Blank lines and ``#`` comments are ignored. Prices convert exactly
  (:func:`~perpdex.core.units.to_price_units`): a price finer than the price scale raises.
* **Random walk** (:class:`RandomWalk`): geometric Brownian motion sampled every ``step_s``:
  ``p' = p * exp((mu - sigma^2 / 2) + sigma * Z)`` with ``Z`` standard normal drawn from
  ``random.Random(seed)``, ``sigma = volatility_ppm / 1e6`` and ``mu = drift_ppm / 1e6`` per
  step, rounded down to the market's tick and never below one tick. The same seed gives
  the same path. Floats are used only to draw the path (it is simulated input, not money);
  every pushed price is an integer on the tick grid.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import InvalidOperation
from pathlib import Path
from typing import Final

from perpdex.core.rounding import div_floor
from perpdex.core.types import Price
from perpdex.core.units import MalformedDecimalError, to_price_units

DEFAULT_VOLATILITY_PPM: Final = 2_000
"""0.2% per step: a 1 s step then moves like a very volatile market (~11% a day)."""
_PPM: Final = 1_000_000


class PricePathError(ValueError):
    """A price file line that is neither a price nor ``time,price``."""


@dataclass(frozen=True, slots=True)
class PricePoint:
    at_s: float
    """When to push, in seconds after the pusher started."""
    price: Price


def load_path(path: Path, *, step_s: float) -> list[PricePoint]:
    """The points of a price file (see the module docstring)."""
    points: list[PricePoint] = []
    first_time: float | None = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [field.strip() for field in line.split(",")]
        try:
            if len(fields) == 1:
                points.append(PricePoint(len(points) * step_s, _price(fields[0])))
                continue
            if len(fields) != 2:
                raise PricePathError(f"{path}:{number}: expected `price` or `time,price`")
            at = float(fields[0])
        except ValueError as error:
            if not points and len(fields) == 2:  # a CSV header
                continue
            raise PricePathError(f"{path}:{number}: {error}") from None
        first_time = at if first_time is None else first_time
        points.append(PricePoint(at - first_time, _price(fields[1])))
    if not points:
        raise PricePathError(f"{path}: no prices")
    return points


def _price(text: str) -> Price:
    try:
        price = to_price_units(text)
    except (MalformedDecimalError, InvalidOperation) as error:
        raise PricePathError(f"{text!r} is not a price: {error}") from None
    if price <= 0:
        raise PricePathError(f"{text!r}: a price must be positive")
    return price


@dataclass(frozen=True, slots=True)
class RandomWalk:
    """A seeded geometric random walk from ``start`` (see the module docstring)."""

    seed: int
    start: Price
    tick: Price
    step_s: float = 1.0
    volatility_ppm: int = DEFAULT_VOLATILITY_PPM
    drift_ppm: int = 0

    def __iter__(self) -> Iterator[PricePoint]:
        rng = random.Random(self.seed)
        sigma = self.volatility_ppm / _PPM
        mu = self.drift_ppm / _PPM
        price = self.start
        step = 0
        while True:
            yield PricePoint(step * self.step_s, price)
            step += 1
            moved = price * math.exp(mu - sigma * sigma / 2 + sigma * rng.gauss(0.0, 1.0))
            price = Price(max(div_floor(int(moved), self.tick) * self.tick, self.tick))
