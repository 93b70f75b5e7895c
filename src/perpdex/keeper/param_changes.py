"""Applying due parameter changes: a change of a listed market waits ``PARAMS_DELAY`` after
its announcement, then anyone may put it in effect (``Markets.apply_params``) until
``PARAMS_GRACE`` later, when it lapses. The keeper applies each one as soon as it is due, so a
change the admin announced does not depend on the admin coming back for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from perpdex.core.types import MarketId
from perpdex.keeper.chain import Step

log = logging.getLogger(__name__)


class ParamsChain(Protocol):
    def block_timestamp(self) -> int: ...

    def params_grace(self) -> int: ...

    def pending_params_at(self, market: MarketId) -> int:
        """When the market's queued change may apply; 0 if none is queued."""
        ...

    def apply_params(self, market: MarketId) -> Step: ...


class ParamsApplier:
    def __init__(self, chain: ParamsChain, markets: Sequence[MarketId]) -> None:
        self._chain = chain
        self._markets = tuple(markets)
        self._grace: int | None = None

    def tick(self) -> list[MarketId]:
        """Apply every change that is due now; returns their markets."""
        if self._grace is None:
            self._grace = self._chain.params_grace()
        now = self._chain.block_timestamp()
        applied = []
        for market in self._markets:
            effective_at = self._chain.pending_params_at(market)
            if effective_at != 0 and effective_at <= now <= effective_at + self._grace:
                step = self._chain.apply_params(market)
                log.info("keeper: parameters of market %d applied in block %d", market, step.block)
                applied.append(market)
        return applied
