"""The market maker: a ladder of post-only quotes around the oracle's index price.

Its reference is ``Markets.price`` read through the SDK's chain reader (the price the
contract values positions at and the keeper liquidates at), polled every ``interval_s``:
it quotes where the market is marked, so the keeper's hedges meet a book centred on the
index. It requotes when the reference moves and after its own fills (a level partly or
wholly taken is refilled), by amending each order in place (:mod:`.ladder` says in which
order, so its bids never reach its asks). Its margin stays sane two ways: past
``max_inventory`` it stops quoting the side that would grow its position, and a level the
gateway's margin check refuses is left empty. While the node is down it keeps its book
as it knew it and tries again (the SDK reconnects by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from perpdex.bots.fills import OwnFills
from perpdex.bots.ladder import MakerSpec, Move, Pull, Slot, ladder, plan, quoted_sides
from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import OrderHash, Price, Size, TimeInForce
from perpdex.core.units import from_price_units, from_size_units, to_size_units
from perpdex.sdk.client import Client, PlacedOrder
from perpdex.sdk.gateway_errors import GatewayError, UnknownOrderError
from perpdex.sim.depth import Quote


@dataclass(frozen=True, slots=True)
class _Resting:
    order_hash: OrderHash
    order_id: int
    quote: Quote
    size: Size
    """The signed order's size: what it traded before its last amend plus ``quote.size``."""


class MarketMaker:
    def __init__(
        self,
        client: Client,
        market: ListedMarket,
        spec: MakerSpec,
        seed: int,
        interval_s: float = 0.2,
    ) -> None:
        self.client = client
        self.market = market
        self.spec = spec
        self.seed = seed
        self.interval_s = interval_s
        self.fills = OwnFills(market.symbol)
        self.reference: Price | None = None
        self.sent = 0
        """Orders placed and amended."""
        self.refused = 0
        self.unanswered = 0
        """Places and amends without an answer (the node was down or went down)."""
        self._orders: dict[Slot, _Resting] = {}

    async def run(self) -> None:
        """Quote until cancelled (then :meth:`withdraw` the quotes)."""
        follower = asyncio.create_task(self.fills.follow(await self.client.account()))
        chain = await self.client.chain()
        try:
            seen = -1
            while True:
                reference = await asyncio.to_thread(chain.mark_price, self.market)
                if reference != self.reference or self.fills.count != seen:
                    seen = self.fills.count
                    await self.requote(reference)
                self.fills.changed.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that
                # arrives as the wait ends, and this loop would then never stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval_s):
                        await self.fills.changed.wait()
        finally:
            follower.cancel()

    async def withdraw(self) -> None:
        await self.client.cancel_all(self.market.symbol)
        self._orders.clear()

    async def requote(self, reference: Price) -> None:
        sides = quoted_sides(self.fills.position, self.spec)
        target = {
            slot: quote
            for slot, quote in ladder(reference, self.market, self.spec, self.seed).items()
            if slot[0] in sides
        }
        for slot in [s for s, order in self._orders.items() if self._open(order) <= 0]:
            del self._orders[slot]  # traded whole: gone from the book
        resting = {
            slot: Quote(order.quote.side, order.quote.price, self._open(order))
            for slot, order in self._orders.items()
        }
        for step in plan(resting, target, self.reference, reference):
            if isinstance(step, Pull):
                await self._pull(step.slot)
            else:
                await self._move(step)
        self.reference = reference

    def _open(self, order: _Resting) -> Size:
        return Size(order.size - self.fills.by_order[order.order_id])

    async def _move(self, move: Move) -> None:
        order = self._orders.get(move.slot)
        quote = move.quote
        try:
            self.sent += 1
            if order is not None:
                try:
                    placed = await self._amend(order, quote)
                except UnknownOrderError:  # it traded whole before we heard: quote afresh
                    del self._orders[move.slot]
                    order = None
            if order is None:
                placed = await self.client.place(
                    self.market.symbol,
                    quote.side,
                    from_size_units(quote.size),
                    from_price_units(quote.price),
                    time_in_force=TimeInForce.POST_ONLY,
                )
        except GatewayError:  # refused (margin, post-only): the level stays empty
            self.refused += 1
            await self._pull(move.slot)
            return
        except ConnectionError:  # no answer: requoted once the node is back
            self.unanswered += 1
            return
        self._orders[move.slot] = _Resting(
            placed.order_hash, placed.order_id, quote, to_size_units(placed.size)
        )

    async def _amend(self, order: _Resting, quote: Quote) -> PlacedOrder:
        traded = self.fills.by_order[order.order_id]
        return await self.client.amend(
            order.order_hash,
            size=from_size_units(Size(traded + quote.size)),
            price=from_price_units(quote.price),
        )

    async def _pull(self, slot: Slot) -> None:
        order = self._orders.pop(slot, None)
        if order is not None:
            with contextlib.suppress(GatewayError, ConnectionError):  # gone, or the node is
                await self.client.cancel(order.order_hash)
