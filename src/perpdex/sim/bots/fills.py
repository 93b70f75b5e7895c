"""A bot's own fills, from its account channel: its position as the engine sees it (before
settlement), and how much of each of its orders has traded."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterable

from perpdex.core.types import MarketId
from perpdex.gateway.protocol import Fill, FillRejected
from perpdex.sdk.subscriptions import AccountEvent


class OwnFills:
    def __init__(self, market: MarketId) -> None:
        self.market = market
        self.position = 0
        """Signed size units (positive: long)."""
        self.count = 0
        self.by_order: dict[int, int] = defaultdict(int)
        """Engine order id -> size units traded (an amend keeps the id)."""
        self.changed = asyncio.Event()

    def on_fill(self, fill: Fill) -> None:
        if fill.market != self.market:
            return
        self.position += fill.size if fill.is_buy else -fill.size
        self.by_order[fill.order_id] += fill.size
        self.count += 1
        self.changed.set()

    def on_rejected(self, rejected: FillRejected) -> None:
        """A fill seen before will never settle: it no longer counts."""
        if rejected.market != self.market:
            return
        self.position -= rejected.size if rejected.is_buy else -rejected.size
        if rejected.order_id is not None:
            self.by_order[rejected.order_id] -= rejected.size
        self.changed.set()

    async def follow(self, events: AsyncIterable[AccountEvent]) -> None:
        """Apply every fill of ``events`` (the client's ``account()`` subscription), and
        take back those the chain rejected."""
        async for event in events:
            if isinstance(event, Fill):
                self.on_fill(event)
            elif isinstance(event, FillRejected):
                self.on_rejected(event)
