"""The feedback cascade's price rules (pure): where the maker quotes, and what the index is.

Each round ``t`` the external path moves from ``E[t-1]`` to ``E[t]``, and

* the maker's reference is the book where the last round's forced sales left it, moved by
  the external step (arbitrage carries the outside move to the book):
  ``R[t] = B[t-1] + E[t] - E[t-1]``, with ``R[0] = E[0]``;
* the index is a stated blend of the book and the external path:
  ``I[t] = W * R[t] + (1 - W) * E[t]`` (``R[t]`` is the mid of the freshly posted ladder);
* the round's forced sales lower the book's mid by ``drop``: ``B[t] = R[t] - drop``.

So the book carries all of the price impact and keeps it (nothing pulls it back to the
external path), and the index carries ``W`` of it. ``W = 0`` is the fixed path of the
plain cascade; ``W = 1`` is an index that follows the book alone. Until the first sale
``B = R = E``, so the index equals the external path exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.rounding import div_floor
from perpdex.core.types import Price
from perpdex.core.units import units


@dataclass(frozen=True, slots=True)
class Feedback:
    weight_ppm: int
    """``W``: the book's weight in the index, in millionths."""

    def __post_init__(self) -> None:
        if not 0 <= self.weight_ppm <= units().fraction_scale:
            raise ValueError("the book's weight in the index must be between 0 and 1")

    def index(self, reference: Price, external: Price, tick: Price) -> Price:
        """``W * reference + (1 - W) * external``, rounded down to the tick."""
        scale = units().fraction_scale
        blend = self.weight_ppm * reference + (scale - self.weight_ppm) * external
        return Price(div_floor(blend, scale * tick) * tick)


def reference(book: int, external_before: Price, external_now: Price, tick: Price) -> Price:
    """The maker's next mid: the book price ``book`` (price units, may be off the tick)
    moved by the external step, rounded down to the tick."""
    return Price(div_floor(book + external_now - external_before, tick) * tick)
