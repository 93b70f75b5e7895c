"""Price-time priority: the reference matcher runs beside the engine's replay, command by
command, and each of its fills must be the engine's next one.

The reference hands over each fill before its book changes, so a difference is explained
on the book the choice was made on: a maker filled while an order at a better price, or an
earlier one at the same price, rested ahead of it; a maker that by the rules does not rest
there at all; a fill the rules do not give, or one they give that the engine skipped.
After the first difference the two books have parted, so the check stops.
"""

from __future__ import annotations

from collections.abc import Sequence

from perpdex.audit.findings import Check, Discrepancy
from perpdex.audit.names import OrderNames
from perpdex.audit.reference import RefBook, Reference, RefFill, RefOrder
from perpdex.audit.replay import MatchedFill
from perpdex.engine.commands import Command
from perpdex.engine.config import MarketConfig


class PriorityCheck:
    def __init__(
        self,
        markets: Sequence[MarketConfig],
        names: OrderNames,
        *,
        self_trade_prevention: bool = True,
    ) -> None:
        self.reference = Reference(
            list(markets), self._on_fill, self_trade_prevention=self_trade_prevention
        )
        self.found: Discrepancy | None = None
        self.fills = 0
        self._names = names
        self._expected: Sequence[MatchedFill] = ()
        self._next = 0

    def apply(self, seq: int, time: int, command: Command, replayed: Sequence[MatchedFill]) -> None:
        """The reference applies ``command``; ``replayed`` are the engine's fills of it."""
        if self.found is not None:
            return
        self._expected, self._next = replayed, 0
        self.reference.apply(seq, time, command)
        if self.found is None and self._next < len(replayed):
            extra = replayed[self._next]
            self._fail(
                extra.seq,
                extra.maker_payload,
                f"taker {self._names.name(extra.taker_id, extra.taker_payload)} was filled"
                f" against maker {self._names.name(extra.maker_id, extra.maker_payload)}"
                f" ({extra.size} at {extra.price}) where the matching rules give no fill",
            )

    def _on_fill(self, fill: RefFill, book: RefBook) -> None:
        if self.found is not None:
            return
        taker, maker = fill.taker, fill.maker
        if self._next == len(self._expected):
            self._fail(
                fill.seq,
                maker.payload,
                f"the matching rules fill taker {self._name(taker)} against maker"
                f" {self._name(maker)} ({fill.size} at {fill.price}); the replay does not"
                " (the maker was skipped)",
            )
            return
        actual = self._expected[self._next]
        self._next += 1
        self.fills += 1
        if (actual.taker_id, actual.maker_id, actual.price, actual.size) == (
            taker.order_id,
            maker.order_id,
            fill.price,
            fill.size,
        ):
            return
        filled = self._names.name(actual.maker_id, actual.maker_payload)
        if actual.taker_id != taker.order_id:
            detail = (
                f"taker {self._names.name(actual.taker_id, actual.taker_payload)} was filled"
                f" where the rules fill taker {self._name(taker)} against {self._name(maker)}"
            )
        elif actual.maker_id == maker.order_id:
            detail = (
                f"taker {self._name(taker)} against maker {filled}: {actual.size} at"
                f" {actual.price} where the rules give {fill.size} at {fill.price}"
            )
        else:
            detail = self._skipped(book.resting.get(actual.maker_id), filled, maker)
        self._fail(actual.seq, actual.maker_payload, f"taker {self._name(taker)}: {detail}")

    def _skipped(self, jumped: RefOrder | None, filled: str, ahead: RefOrder) -> str:
        if jumped is None:
            return (
                f"filled maker {filled}, which by the rules does not rest on the book here"
                f" (next in line: {self._name(ahead)} at {ahead.price})"
            )
        if jumped.price != ahead.price:
            return (
                f"filled maker {filled} at {jumped.price} while {self._name(ahead)} rested"
                f" at the better price {ahead.price}"
            )
        return (
            f"filled maker {filled}, which jumped the queue: {self._name(ahead)} rested at"
            f" the same price {ahead.price} since before it"
        )

    def _name(self, order: RefOrder) -> str:
        return self._names.name(order.order_id, order.payload)

    def _fail(self, seq: int, payload: bytes, detail: str) -> None:
        self.found = Discrepancy(Check.PRIORITY, seq, detail, self._names.hash_of(payload))
