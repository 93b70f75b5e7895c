"""The engine replayed from the journal: its fills in match order, and the fills its
journal reports as refused by the chain or dropped by the batcher (``ChainCancel`` with a
rejected fill), which are the node's own account of what never settled."""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.engine.book import Order
from perpdex.engine.commands import NewOrder, RejectedFill
from perpdex.engine.events import EventSink


@dataclass(frozen=True, slots=True)
class MatchedFill:
    seq: int
    market: int
    taker_id: int
    maker_id: int
    price: int
    size: int
    taker_payload: bytes
    maker_payload: bytes


@dataclass(frozen=True, slots=True)
class ReportedDrop:
    """A fill the journal says will never settle, and why (the chain's or the batcher's
    reason, by name)."""

    seq: int
    fill: RejectedFill


class ReplaySink(EventSink):
    """Keeps the engine's fills and reported drops; every other event is ignored."""

    book_deltas = False

    def __init__(self) -> None:
        self.fills: list[MatchedFill] = []
        self.drops: list[ReportedDrop] = []

    def filled(self, seq: int, taker: NewOrder, maker: Order, price: int, size: int) -> None:
        made = maker.command
        self.fills.append(
            MatchedFill(
                seq,
                taker.market,
                taker.order_id,
                made.order_id,
                price,
                size,
                taker.payload,
                made.payload,
            )
        )

    def fill_rejected(self, seq: int, fill: RejectedFill) -> None:
        self.drops.append(ReportedDrop(seq, fill))
