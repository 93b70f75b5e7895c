"""The venue's own book in the feedback cascade: a market maker's ladder resting in the real
matching engine (``Sequencer`` and ``Engine``), which the keeper's forced sales consume.

Replenishment, plainly: at the start of every round the maker cancels what is left of its
ladder and posts the whole ladder again around its new reference price, so the depth is
back in full every round; what the sales took out stays in the price, through the
reference (``perpdex.sim.cascade.feedback``). The maker's capital is not limited: the
engine checks no margin, and it buys whatever reaches its bids.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from perpdex.chain.markets import MarketSpec
from perpdex.core.types import Address, MarketId, OrderId, Price, Side, Size
from perpdex.engine.clock import ManualClock
from perpdex.engine.commands import CancelAll, market_order
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.sequencer import Sequencer
from perpdex.sim.cascade.metrics import Sale
from perpdex.sim.depth import FillRecorder, Ladder, post, quotes

MAKER = Address("0x" + "33" * 20)
"""The book's market maker: an engine account only (its fills are not settled on chain)."""


@dataclass(frozen=True, slots=True)
class Depth:
    """The maker's ladder on each side: ``levels`` prices, the first ``half_spread_ppm``
    from its reference, then one every ``level_step_ppm``; ``base_size`` at the first level,
    each further level ``growth_ppm`` of the base larger (no jitter)."""

    base_size: Size
    levels: int = 20
    half_spread_ppm: int = 500
    level_step_ppm: int = 500
    growth_ppm: int = 500_000

    def ladder(self, mid: Price, market: MarketSpec) -> Ladder:
        return Ladder(
            mid,
            market.tick_size,
            market.lot_size,
            self.base_size,
            self.levels,
            self.half_spread_ppm,
            self.level_step_ppm,
            self.growth_ppm,
            jitter_ppm=0,
        )

    def reach_ppm(self) -> int:
        """How far from the reference the farthest level rests."""
        return self.half_spread_ppm + (self.levels - 1) * self.level_step_ppm

    def within(self, ppm: int, market: MarketSpec) -> Size:
        """Size resting on one side at most ``ppm`` from the reference (the bids at the
        market's opening price; any reference gives the same sizes)."""
        ladder = self.ladder(market.index_price, market)
        return Size(
            sum(
                quote.size
                for level, quote in enumerate(q for q in quotes(ladder, 0) if q.side is Side.BUY)
                if self.half_spread_ppm + level * self.level_step_ppm <= ppm
            )
        )


class Book:
    """One market's engine with the maker's ladder; the keeper sells into it."""

    def __init__(self, market_id: MarketId, market: MarketSpec, depth: Depth) -> None:
        self.market_id = market_id
        self.market = market
        self.depth = depth
        self._recorder = FillRecorder()
        self._engine = Engine(
            [MarketConfig(market_id, market.tick_size, market.lot_size)], self._recorder
        )
        self._sequencer = Sequencer(self._engine, ManualClock())
        self._ids = count(1)

    def requote(self, reference: Price) -> None:
        """The maker's whole ladder again, around ``reference``."""
        self._sequencer.submit(CancelAll(self.market_id, MAKER))
        ladder = self.depth.ladder(reference, self.market)
        post(self._sequencer, self.market_id, MAKER, quotes(ladder, 0), self._ids)

    def mid(self) -> int:
        """The mid of the best bid and ask, in price units (rounded down)."""
        matching = self._engine.markets[self.market_id]
        bid, ask = matching.best_bid(), matching.best_ask()
        if bid is None or ask is None:
            raise RuntimeError("a forced sale emptied a side: the ladder must reach further")
        return (bid + ask) // 2

    def sell(self, seller: Address, size: Size, worst: Price) -> list[Sale]:
        """A market sell of ``size`` (down to the lot) taking bids down to ``worst``; the
        rest is cancelled, as the keeper's hedge IOC (``perpdex.keeper.hedge``)."""
        lots = size // self.market.lot_size * self.market.lot_size
        if lots == 0:
            return []
        before = len(self._recorder.fills)
        order = market_order(
            market=self.market_id,
            order_id=OrderId(next(self._ids)),
            account=seller,
            side=Side.SELL,
            worst_price=worst,
            size=Size(lots),
        )
        self._sequencer.submit(order)
        return [Sale(Price(price), amount) for price, amount in self._recorder.fills[before:]]
