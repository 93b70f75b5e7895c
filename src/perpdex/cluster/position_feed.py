"""What a position manager of cluster mode is fed: the embedded node's inputs, from streams.

In the embedded node the position manager hears the engine's fills, the settlement
runner's outcomes, and is handed the fills still unsettled and the open orders after a
restart (``Node._adopt``). A process of cluster mode (the risk process, each gateway) has
them from its replicas of the shards (:class:`~perpdex.cluster.replicas.ReplicaSet`) and
the settlement outcome stream (:class:`~perpdex.cluster.outcome_follower.OutcomeFollower`).

Start: outcomes first (to the stream's end), then the replicas (to their journals' ends),
then ``go_live``. A replayed fill with an outcome is not pending; one without is, as are
the settled fills whose block the chain fold has not reached. From then on each fill and
each outcome goes to the position manager as it arrives; an outcome can overtake its fill
(a replica lags the settlement process's own), so recent outcomes are remembered and such
a fill is never counted as pending.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final

from perpdex.core.eip712 import Eip712Domain, SignedOrder
from perpdex.core.types import MarketId, Size
from perpdex.engine.events import Filled
from perpdex.engine.matching import MatchingEngine
from perpdex.risk.manager import PositionManager
from perpdex.risk.reservations import reserves_margin
from perpdex.services.open_orders import open_orders
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import FillKey, FillOutcome, Settled, fill_key
from perpdex.settlement.payload import match_from_fill

log = logging.getLogger(__name__)

RECENT_OUTCOMES: Final = 100_000
"""Outcomes remembered after the start, for fills that arrive after their outcome."""


class PositionFeed:
    """Fills and outcomes to ``pm``; ``books`` are the replicas' (every shard's)."""

    def __init__(
        self,
        pm: PositionManager,
        domain: Eip712Domain,
        books: Callable[[], Mapping[MarketId, MatchingEngine]],
    ) -> None:
        self.pm = pm
        self._domain = domain
        self._books = books
        self.live = False
        self._fills: dict[FillKey, Match] = {}  # replayed before going live
        self._outcomes: OrderedDict[FillKey, FillOutcome] = OrderedDict()

    def on_fill(self, event: Filled) -> None:
        try:
            match = match_from_fill(event, self._domain)
        except ValueError:
            log.exception("fill %s carries no valid signed orders", event.seq)
            return
        key = fill_key(match)
        if not self.live:
            if key not in self._outcomes:
                self._fills[key] = match
            return
        if key not in self._outcomes:  # else its outcome came first: not pending
            self.pm.on_engine_event(event)

    def on_outcome(self, outcome: FillOutcome) -> None:
        key = fill_key(outcome.match)
        self._outcomes[key] = outcome
        if len(self._outcomes) > RECENT_OUTCOMES and self.live:
            self._outcomes.popitem(last=False)
        if not self.live:
            self._fills.pop(key, None)
            return
        self.pm.on_outcome(outcome)

    def go_live(self) -> None:
        """Pending: the replayed fills without an outcome, and the settled ones the chain
        fold has not reached yet (their outcome follows); reserved: the open orders."""
        pm = self.pm
        recent = [
            o for o in self._outcomes.values() if isinstance(o, Settled) and o.block > pm.through
        ]
        pm.adopt([*self._fills.values(), *(o.match for o in recent)], self.open_reservations())
        for outcome in recent:
            pm.on_outcome(outcome)
        self._fills.clear()
        self.live = True

    def open_reservations(self) -> list[tuple[SignedOrder, Size]]:
        """The margin the replicas' open orders hold."""
        return [
            (signed, size)
            for _, signed, size in open_orders(self._books(), self._domain)
            if reserves_margin(signed.order)
        ]

    def reserve_open(self) -> None:
        """Reservations read again from the replicas' books (before each fold)."""
        self.pm.reserve_open(self.open_reservations())
