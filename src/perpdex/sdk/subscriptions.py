"""Subscriptions as async iterators.

``async for item in subscription`` yields what the channel carries; the client feeds it and
keeps it alive across reconnects (it subscribes again on every new connection). Trades and
account events are queued without bound (a fill must never be dropped); a book subscription
yields the whole book after each change and keeps only the latest one for a slow reader. An
account subscription yields each fill and order update exactly once, in order, across
reconnects and gateway restarts: it remembers the last ``accountSeq`` it yielded, the
client resumes after it, and a frame seen before is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from perpdex.core.types import MarketId
from perpdex.gateway.protocol import BookSnapshot, BookUpdate, Channel
from perpdex.gateway.protocol import Trade as TradeFrame
from perpdex.sdk.book import BookView, LocalBook
from perpdex.sdk.markets import Markets
from perpdex.sdk.values import AccountUpdate, Fill, FillRejected, OrderUpdate, Trade

Item = TypeVar("Item")
AccountEvent = Fill | FillRejected | OrderUpdate | AccountUpdate
"""What an account subscription yields (``perpdex.sdk.values``, in decimals)."""
Unsubscribe = Callable[["Subscription[Any]"], Coroutine[Any, Any, None]]
Resync = Callable[["BookSubscription"], Coroutine[Any, Any, None]]
GapFound = Callable[[], None]

_CLOSED = object()  # ends the iteration


class Subscription(Generic[Item]):
    """One channel (of one market, for book and trades); close it to unsubscribe."""

    def __init__(
        self,
        channel: Channel,
        market: MarketId | None,
        unsubscribe: Unsubscribe,
    ) -> None:
        self.channel = channel
        self.market = market
        self._unsubscribe = unsubscribe
        self._queue: asyncio.Queue[Item | object] = asyncio.Queue()
        self._closed = False

    def __aiter__(self) -> Subscription[Item]:
        return self

    async def __anext__(self) -> Item:
        item = await self._queue.get()
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)  # every later __anext__ ends too
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    async def close(self) -> None:
        if not self._closed:
            await self._unsubscribe(self)
            self.end()

    def end(self) -> None:
        """Stop the iteration after what is queued (the client is closing)."""
        self._closed = True
        self._queue.put_nowait(_CLOSED)

    def on_reconnect(self) -> None:
        """A new connection is about to subscribe again."""

    def deliver(self, item: Item) -> None:
        self._queue.put_nowait(item)


class TradeSubscription(Subscription[Trade]):
    """A market's public trades, in decimals."""

    def __init__(self, markets: Markets, market: MarketId, unsubscribe: Unsubscribe) -> None:
        super().__init__(Channel.TRADES, market, unsubscribe)
        self._markets = markets

    def on_frame(self, frame: TradeFrame) -> None:
        self.deliver(Trade.of_frame(self._markets, frame))


class AccountSubscription(Subscription[AccountEvent]):
    """Own fills, rejected fills, order updates and margin updates; ``last_seq`` is the
    ``accountSeq`` of the last numbered event yielded (None: nothing numbered seen yet)."""

    def __init__(self, unsubscribe: Unsubscribe, gap_found: GapFound) -> None:
        super().__init__(Channel.ACCOUNT, None, unsubscribe)
        self.last_seq: int | None = None
        self._gap_found = gap_found

    def began_at(self, seq: int) -> None:
        """The account's last event when the gateway started this subscription (a fresh
        one: a resume already knows where it is)."""
        if self.last_seq is None:
            self.last_seq = seq

    def deliver(self, item: AccountEvent) -> None:
        if isinstance(item, Fill | FillRejected | OrderUpdate):
            seq, last = item.account_seq, self.last_seq
            if last is not None and seq <= last:
                return  # yielded before a reconnect, sent again by the resume
            if last is not None and seq > last + 1:
                self._gap_found()  # the client reconnects and resumes after ``last``
                return
            self.last_seq = seq
        super().deliver(item)


class BookSubscription(Subscription[BookView]):
    """Yields the book after each snapshot and update; a gap re-snapshots (``resync``)."""

    def __init__(
        self,
        market: MarketId,
        unsubscribe: Unsubscribe,
        resync: Resync,
    ) -> None:
        super().__init__(Channel.BOOK, market, unsubscribe)
        self.book = LocalBook(market)
        self._resync = resync
        self._resyncing: asyncio.Task[None] | None = None

    def on_reconnect(self) -> None:
        self.book.invalidate()

    def on_frame(self, frame: BookSnapshot | BookUpdate) -> None:
        if isinstance(frame, BookSnapshot):
            self.book.reset(frame)
        elif not self.book.apply(frame):
            self.book.invalidate()
            if self._resyncing is None or self._resyncing.done():
                self._resyncing = asyncio.create_task(self._resync(self))
            return
        if self.book.seq is not None:
            self._conflate(self.book.view())

    def _conflate(self, view: BookView) -> None:
        # the reader only needs the newest book: drop older ones it has not read yet
        while not self._queue.empty():
            self._queue.get_nowait()
        self.deliver(view)
