"""A bot's own fills, from its account channel: its position as the engine sees it (before
settlement), and how much of each of its orders has traded."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterable

from perpdex.core.types import MarketId
from perpdex.gateway.protocol import Fill
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

    async def follow(self, events: AsyncIterable[AccountEvent]) -> None:
        """Apply every fill of ``events`` (the client's ``account()`` subscription)."""
        async for event in events:
            if isinstance(event, Fill):
                self.on_fill(event)
