"""The market maker's quotes and how it moves them without ever crossing itself (pure).

The ladder is :mod:`perpdex.sim.depth`'s: ``levels`` prices a side, the first
``half_spread_ppm`` from the reference, then one every ``level_step_ppm``, each rounded
away from the reference onto the tick grid. With a half-spread of at least 1 ppm every bid
is strictly below every ask (a bid rounds down from below the reference, an ask up from
above it).

A requote moves each resting order to its new price by an amend (one atomic replace, so
the book never empties) or places it when the order is gone (filled). The side that moves
*away* from the other goes first: when the reference falls the bids move down before the
asks follow, when it rises the asks move up first. In between, every bid is at or below
the higher of the old and new best bids, every ask at or above the lower of the old and new
best asks, and the side moved first has already made room: the maker's own bid and ask
never cross (:func:`plan` returns the steps; the tests replay them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Price, Side, Size
from perpdex.core.units import to_size_units
from perpdex.sim.depth import Ladder, Quote, quotes

Slot = tuple[Side, int]
"""(side, level): one resting order of the ladder."""


BASE_SIZE: Final = to_size_units("0.5")
MAX_INVENTORY: Final = to_size_units("40")


@dataclass(frozen=True, slots=True)
class MakerSpec:
    levels: int = 10
    half_spread_ppm: int = 500
    """5 bp: a 10 bp spread around the reference."""
    level_step_ppm: int = 500
    base_size: Size = BASE_SIZE
    growth_ppm: int = 500_000
    """Each level 50% of the base size larger than the one before (0.5, 0.75, ... BTC)."""
    max_inventory: Size = MAX_INVENTORY
    """Beyond this position (either way) the side that would grow it is not quoted."""

    def __post_init__(self) -> None:
        if self.half_spread_ppm < 1:
            raise ValueError("a half-spread of at least 1 ppm keeps bids below asks")
        if self.max_inventory <= 0:
            raise ValueError("the maker's inventory limit must be positive")


def ladder(reference: Price, market: ListedMarket, spec: MakerSpec, seed: int) -> dict[Slot, Quote]:
    """The quotes around ``reference``, by slot (the same sizes for every reference)."""
    shape = Ladder(
        reference,
        market.tick_size,
        market.lot_size,
        spec.base_size,
        spec.levels,
        spec.half_spread_ppm,
        spec.level_step_ppm,
        spec.growth_ppm,
        jitter_ppm=0,
    )
    drawn = quotes(shape, seed)  # a bid then an ask per level, nearest first
    return {(quote.side, index // 2): quote for index, quote in enumerate(drawn)}


def quoted_sides(position: int, spec: MakerSpec) -> frozenset[Side]:
    """The sides the maker quotes at ``position``: not the one growing it past the limit."""
    sides = {Side.BUY, Side.SELL}
    if position >= spec.max_inventory:
        sides.discard(Side.BUY)
    if position <= -spec.max_inventory:
        sides.discard(Side.SELL)
    return frozenset(sides)


@dataclass(frozen=True, slots=True)
class Move:
    """Put ``slot``'s order at ``quote``: an amend when it rests, else a new order."""

    slot: Slot
    quote: Quote


@dataclass(frozen=True, slots=True)
class Pull:
    """Cancel ``slot``'s order (its side is no longer quoted)."""

    slot: Slot


Step = Move | Pull


def plan(
    resting: Mapping[Slot, Quote],
    target: Mapping[Slot, Quote],
    previous: Price | None,
    reference: Price,
) -> list[Step]:
    """The steps from ``resting`` to ``target``: the side moving away from the other first
    (see the module docstring); within a side, pulls before moves. A slot already at its
    target price and size is left alone."""
    first = Side.BUY if previous is not None and reference < previous else Side.SELL
    steps: list[Step] = []
    for side in (first, first.opposite):
        steps += [Pull(slot) for slot in resting if slot[0] is side and slot not in target]
        steps += [
            Move(slot, quote)
            for slot, quote in sorted(target.items(), key=lambda item: item[0][1])
            if slot[0] is side and resting.get(slot) != quote
        ]
    return steps
