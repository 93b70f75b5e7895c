"""A bot's own fills, from its account channel: its position as the engine sees it (before
settlement), and how much of each of its orders has traded."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterable

from perpdex.core.types import Side
from perpdex.core.units import to_size_units
from perpdex.sdk.subscriptions import AccountEvent
from perpdex.sdk.values import Fill, FillRejected


class OwnFills:
    def __init__(self, market: str) -> None:
        self.market = market
        """The market's symbol."""
        self.position = 0
        """Signed size units (positive: long)."""
        self.count = 0
        self.by_order: dict[int, int] = defaultdict(int)
        """Engine order id -> size units traded (an amend keeps the id)."""
        self.changed = asyncio.Event()

    def on_fill(self, fill: Fill) -> None:
        if fill.market != self.market:
            return
        size = to_size_units(fill.size)
        self.position += size if fill.side is Side.BUY else -size
        self.by_order[fill.order_id] += size
        self.count += 1
        self.changed.set()

    def on_rejected(self, rejected: FillRejected) -> None:
        """A fill seen before will never settle: it no longer counts."""
        if rejected.market != self.market:
            return
        size = to_size_units(rejected.size)
        self.position -= size if rejected.side is Side.BUY else -size
        if rejected.order_id is not None:
            self.by_order[rejected.order_id] -= size
        self.changed.set()

    async def follow(self, events: AsyncIterable[AccountEvent]) -> None:
        """Apply every fill of ``events`` (the client's ``account()`` subscription), and
        take back those the chain rejected."""
        async for event in events:
            if isinstance(event, Fill):
                self.on_fill(event)
            elif isinstance(event, FillRejected):
                self.on_rejected(event)
