"""Engine fills not yet settled on chain, per trader, in engine order.

A fill enters when the engine emits it and leaves when the chain shows it (its ``Filled``
event is folded, or the batcher reports it settled in a block the indexer has passed) or
when the batcher reports it rejected. Until then the position manager counts it as if it
had settled.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.types import Address
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import FillKey, fill_key


@dataclass(slots=True)
class PendingFill:
    match: Match
    settled_in: int | None = None
    """The block the batcher reported it settled in; it leaves once the fold passes it."""


class PendingFills:
    def __init__(self) -> None:
        self._fills: dict[FillKey, PendingFill] = {}  # insertion order: engine order
        self._by_trader: dict[Address, dict[FillKey, PendingFill]] = {}

    def __len__(self) -> int:
        return len(self._fills)

    def add(self, match: Match) -> set[Address]:
        """Returns the traders whose state changed (none if the fill was known)."""
        key = fill_key(match)
        if key in self._fills:
            return set()
        pending = self._fills[key] = PendingFill(match)
        traders = {match.maker.order.trader, match.taker.order.trader}
        for trader in traders:
            self._by_trader.setdefault(trader, {})[key] = pending
        return traders

    def drop(self, key: FillKey) -> set[Address]:
        pending = self._fills.pop(key, None)
        if pending is None:
            return set()
        traders = {pending.match.maker.order.trader, pending.match.taker.order.trader}
        for trader in traders:
            fills = self._by_trader[trader]
            del fills[key]
            if not fills:
                del self._by_trader[trader]
        return traders

    def settled(self, key: FillKey, block: int, folded_through: int) -> set[Address]:
        pending = self._fills.get(key)
        if pending is None:
            return set()
        if block <= folded_through:
            return self.drop(key)
        pending.settled_in = block
        return set()

    def folded_through(self, block: int) -> set[Address]:
        """The fold has passed ``block``: drop the fills settled up to it."""
        changed: set[Address] = set()
        for key in [k for k, p in self._fills.items() if p.settled_in is not None]:
            settled_in = self._fills[key].settled_in
            if settled_in is not None and settled_in <= block:
                changed |= self.drop(key)
        return changed

    def of(self, trader: Address) -> list[Match]:
        return [pending.match for pending in self._by_trader.get(trader, {}).values()]

    def traders(self) -> set[Address]:
        return set(self._by_trader)

    def matches(self) -> list[Match]:
        return [pending.match for pending in self._fills.values()]
