"""Replicas of every engine shard on one event bus: the books of the whole exchange, for a
process of cluster mode that checks orders or watches them (risk, gateways, the reader).

Each shard's :class:`~perpdex.cluster.follower.JournalFollower` applies its journal to an
engine of that shard's markets; all of them publish to the same :class:`EventBus`, so a
subscriber sees every market's events as the embedded node's subscribers do (in each
shard's order; shards are independent, as their engines are).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from nats.aio.client import Client

from perpdex.cluster.follower import JournalFollower, ReplicaListener
from perpdex.cluster.streams import StreamLayout
from perpdex.core.types import MarketId
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventBus
from perpdex.engine.matching import MatchingEngine


class ReplicaSet:
    """``book_deltas``: the bus carries level changes (a gateway's book feeds need them);
    ``listener`` hears where each entry of every shard begins and ends."""

    def __init__(
        self,
        nc: Client,
        layout: StreamLayout,
        markets: Iterable[MarketConfig],
        *,
        book_deltas: bool = False,
        listener: ReplicaListener | None = None,
    ) -> None:
        self.bus = EventBus(book_deltas=book_deltas)
        listed = tuple(markets)
        self.followers = [
            JournalFollower(
                nc,
                layout,
                shard,
                Engine([m for m in listed if layout.shard_of(m.market) == shard], self.bus),
                listener=listener,
            )
            for shard in layout.all_shards
        ]
        self.books: dict[MarketId, MatchingEngine] = {}
        for follower in self.followers:
            self.books.update(follower.engine.markets)

    @property
    def failed(self) -> Exception | None:
        """Why a replica stopped for good (a bad journal entry, a failed handler), if one
        did."""
        return next((f.failed for f in self.followers if f.failed is not None), None)

    def progress(self) -> tuple[int, int]:
        """The status board's ``(seq, lag)``: the shards' applied sequences and lags,
        summed."""
        return sum(f.head.seq for f in self.followers), sum(f.lag for f in self.followers)

    def seqs(self) -> list[int]:
        """Each shard's last applied journal sequence."""
        return [follower.head.seq for follower in self.followers]

    async def start(self) -> None:
        await asyncio.gather(*(follower.start() for follower in self.followers))

    async def caught_up(self, timeout_s: float = 60.0) -> None:
        """Wait until every replica applied what its journal held when called."""
        await asyncio.gather(*(f.caught_up(timeout_s) for f in self.followers))

    async def stop(self) -> None:
        for follower in self.followers:
            await follower.stop()
