"""Match to settled: from the engine's ``Filled`` event to the settlement runner's outcome.

Both ends are seen in the node's own process: the engine's bus (``node.engine.bus``) and
the runner's listeners (``node.runner.subscribe``), each stamped with the same monotonic
clock, and correlated by the settlement's fill key (maker and taker order hashes). The
interval holds everything between the match and the receipt: the journal's group commit
(a fill settles only once durable), the runner's polling interval, batching, the block
time and the receipt.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from perpdex.core.eip712 import Eip712Domain
from perpdex.engine.events import Event, Filled
from perpdex.settlement.outcomes import FillKey, FillOutcome, Settled, TxHash, fill_key
from perpdex.settlement.payload import match_from_fill


class SettlementLatency:
    def __init__(self, domain: Eip712Domain, clock: Callable[[], float] = time.monotonic) -> None:
        self._domain = domain
        self._clock = clock
        self.matched: dict[FillKey, float] = {}
        self.settled: dict[FillKey, float] = {}
        self.rejected: Counter[str] = Counter()
        self.transactions: set[TxHash] = set()

    @property
    def fills(self) -> int:
        return len(self.matched)

    def on_event(self, event: Event) -> None:
        """The engine bus's subscriber."""
        if isinstance(event, Filled):
            key = fill_key(match_from_fill(event, self._domain))
            self.matched.setdefault(key, self._clock())

    def on_outcome(self, outcome: FillOutcome) -> None:
        """The settlement runner's listener."""
        key = fill_key(outcome.match)
        if isinstance(outcome, Settled):
            self.settled[key] = self._clock()
            if not outcome.earlier:
                self.transactions.add(outcome.tx_hash)
        else:
            self.rejected[outcome.reason.value] += 1

    def waiting(self) -> int:
        """Fills matched without an outcome yet."""
        return self.fills - len(self.settled) - self.rejected.total()

    def seconds(self) -> list[float]:
        """Match-to-settled time of every settled fill, in match order."""
        return [
            self.settled[key] - matched
            for key, matched in self.matched.items()
            if key in self.settled
        ]
