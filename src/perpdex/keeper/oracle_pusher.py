"""The oracle pusher (local chains only): feeds each market's mock aggregator from a price
path, then tells its listeners (the liquidator) the block of the new price, then records
it as the market's last good price (``Markets.record_price``, sent without waiting, so the
liquidator's steps can share the next block with it).

The keeper key owns the mock aggregators after ``perpdex deploy``. Answers are written at
the aggregator's own decimals (read from it): ``price * 10 ** (decimals - PRICE_DECIMALS)``,
exact. A restarted pusher starts its paths again from their first point.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from perpdex.core.types import MarketId, Price
from perpdex.core.units import units
from perpdex.keeper.chain import Step
from perpdex.keeper.price_path import PricePoint


class OracleChain(Protocol):
    def oracle_decimals(self, market: MarketId) -> int: ...

    def set_answer(self, market: MarketId, answer: int) -> Step: ...

    def record_price(self, market: MarketId) -> None: ...


@dataclass(frozen=True, slots=True)
class Pushed:
    market: MarketId
    price: Price
    step: Step


class OraclePusher:
    def __init__(
        self,
        chain: OracleChain,
        paths: Mapping[MarketId, Iterable[PricePoint]],
        *,
        clock: Callable[[], float] = time.monotonic,
        listeners: Iterable[Callable[[int], None]] = (),
    ) -> None:
        self.chain = chain
        self.clock = clock
        self.listeners = list(listeners)
        self._paths: dict[MarketId, Iterator[PricePoint]] = {m: iter(p) for m, p in paths.items()}
        self._next: dict[MarketId, PricePoint | None] = {m: None for m in self._paths}
        self._pushed: dict[MarketId, Price] = {}
        self._scales: dict[MarketId, int] = {}
        self._started: float | None = None

    def tick(self) -> list[Pushed]:
        """Push, for each market, the latest point of its path that is due (skipping points
        a slow tick missed: only the newest price matters)."""
        now = self.clock()
        if self._started is None:
            self._started = now
        pushed: list[Pushed] = []
        for market in self._paths:
            point = self._due(market, now - self._started)
            if point is not None and point.price != self._pushed.get(market):
                pushed.append(self.push(market, point.price))
        return pushed

    def push(self, market: MarketId, price: Price) -> Pushed:
        """Write ``price`` to ``market``'s aggregator now."""
        if market not in self._scales:
            decimals = self.chain.oracle_decimals(market)
            self._scales[market] = 10 ** (decimals - units().price_decimals)
        step = self.chain.set_answer(market, price * self._scales[market])
        self._pushed[market] = price
        for listener in self.listeners:
            listener(step.block)
        self.chain.record_price(market)
        return Pushed(market, price, step)

    def _due(self, market: MarketId, elapsed: float) -> PricePoint | None:
        due: PricePoint | None = None
        while True:
            point = self._next[market]
            if point is None:
                point = self._next[market] = next(self._paths[market], None)
                if point is None:  # the path ended: its last price stays
                    return due
            if point.at_s > elapsed:
                return due
            due, self._next[market] = point, None
