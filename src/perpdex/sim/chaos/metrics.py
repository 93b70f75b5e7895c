"""The chaos run's invariants, computed from what was collected (pure, so the unit tests
feed them synthetic evidence):

* ``lost``: orders the gateway acknowledged that the journal does not hold;
* ``settled_twice``: fills (maker hash, taker hash) with more than one ``Filled`` event;
* ``unreported_rejections``: fills the chain rejected (``FillRejected``) and never
  settled, or that never reached it (the batcher dropped them), which did not reach both
  traders as a ``fill_rejected`` frame naming the trader's own order (a fill the chain
  settled and then refused again, a resubmission after a restart, was not rejected: its
  traders got it);
* ``stream_gaps``: fills the chain settled for a trader's orders that the trader's account
  stream never delivered.

A fill is named by its two order hashes (:data:`perpdex.settlement.outcomes.FillKey`). A
trader's fill frame names only its own order, so the stream is compared with the chain per
trader as a multiset of (own order hash, maker or taker, price, size): a fill received
twice (a replay after a resume) is not a gap. A replay could only hide a missing fill of
the same order at the same price and size (the frame does not name the other order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from perpdex.core.types import Address, OrderHash
from perpdex.settlement.outcomes import FillKey, RejectReason


@dataclass(frozen=True, slots=True)
class ChainFill:
    """One ``Filled`` event."""

    maker: Address
    taker: Address
    maker_hash: OrderHash
    taker_hash: OrderHash
    price: int
    size: int

    @property
    def key(self) -> FillKey:
        return (self.maker_hash, self.taker_hash)


@dataclass(frozen=True, slots=True)
class ChainRejection:
    """One ``FillRejected`` event."""

    key: FillKey
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class StreamFill:
    """One fill as a trader's account stream delivered it (its own side of the fill)."""

    order_hash: OrderHash
    maker: bool
    price: int
    size: int


@dataclass(frozen=True, slots=True)
class JournalFill:
    """A fill the engine matched (from the journal): who traded."""

    key: FillKey
    maker: Address
    taker: Address


@dataclass
class Received:
    """What one trader's account stream delivered."""

    fills: list[StreamFill] = field(default_factory=list)
    rejected: set[OrderHash] = field(default_factory=set)
    """Own order hashes of the ``fill_rejected`` frames."""
    reasons: Counter[str] = field(default_factory=Counter)
    """``fill_rejected`` frames by their reason."""


def lost(acked: Iterable[OrderHash], journaled: Collection[OrderHash]) -> int:
    return sum(1 for order_hash in set(acked) if order_hash not in journaled)


def settled_twice(chain: Iterable[ChainFill]) -> int:
    """Fills with more than one ``Filled`` event (each such fill counts once)."""
    return sum(1 for n in Counter(fill.key for fill in chain).values() if n > 1)


def dropped(
    journal: Iterable[JournalFill],
    settled: Iterable[ChainFill],
    rejected: Iterable[ChainRejection],
) -> set[FillKey]:
    """Matched fills with no outcome on chain: neither ``Filled`` nor ``FillRejected``."""
    outcome = {fill.key for fill in settled} | {rejection.key for rejection in rejected}
    return {fill.key for fill in journal} - outcome


def refused(settled: Iterable[ChainFill], rejected: Iterable[ChainRejection]) -> set[FillKey]:
    """Fills the chain rejected and never settled."""
    return {rejection.key for rejection in rejected} - {fill.key for fill in settled}


def unreported_rejections(
    journal: Mapping[FillKey, JournalFill],
    refused: Iterable[FillKey],
    never_settled: Iterable[FillKey],
    received: Mapping[Address, Received],
) -> int:
    """Refused or dropped fills that did not reach both traders as ``fill_rejected``
    (a rejection the journal cannot name the traders of counts as unreported)."""
    count = 0
    for key in set(refused) | set(never_settled):
        fill = journal.get(key)
        if fill is None or not (
            key[0] in received.get(fill.maker, Received()).rejected
            and key[1] in received.get(fill.taker, Received()).rejected
        ):
            count += 1
    return count


def expected_stream(chain: Iterable[ChainFill], trader: Address) -> Counter[StreamFill]:
    """The fill frames ``trader`` should have received for the chain's fills."""
    expected: Counter[StreamFill] = Counter()
    for fill in chain:
        if fill.maker == trader:
            expected[StreamFill(fill.maker_hash, True, fill.price, fill.size)] += 1
        if fill.taker == trader:
            expected[StreamFill(fill.taker_hash, False, fill.price, fill.size)] += 1
    return expected


def stream_gaps(chain: Sequence[ChainFill], received: Mapping[Address, Received]) -> int:
    """Settled fills of the observed traders that their streams never delivered."""
    gaps = 0
    for trader, stream in received.items():
        missing = expected_stream(chain, trader) - Counter(stream.fills)
        gaps += sum(missing.values())
    return gaps
