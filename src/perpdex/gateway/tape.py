"""Each market's public tape, in memory: its recent trades (a bounded ring) and its OHLCV
candles per interval, built from the engine's fills.

A fill is timed by the stamp of the command that made it (the engine's clock, which the
journal records), not by the wall clock when the tape sees it: the node subscribes the tape
to the replay of the journal, like the account log, so a restart rebuilds the same trades
and candles, to the millisecond. Memory is bounded: the newest :data:`TRADES_KEPT` trades
and :data:`CANDLES_KEPT` candles per interval of each market; older ones are dropped (a
replay from genesis passes through them and keeps only the newest). An interval without a
trade has no candle (as on most venues: a chart fills the gap with the last close).

The tape shows what the engine matched, as the ``trades`` channel does: a fill the chain
later refuses (``fill_rejected``) stays on it. Prices and sizes are the engine's integers
(price and size units); the SDK shows them as decimals.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

import msgspec

from perpdex.core.types import MarketId, Side
from perpdex.engine.events import Event, Filled

TRADES_KEPT: Final = 1000
"""Recent trades kept per market (the most ``GET /trades`` returns)."""

CANDLES_KEPT: Final = 1000
"""Candles kept per market and interval (the most ``GET /candles`` returns)."""

_MINUTE_MS: Final = 60_000
INTERVALS: Final[dict[str, int]] = {
    "1m": _MINUTE_MS,
    "5m": 5 * _MINUTE_MS,
    "15m": 15 * _MINUTE_MS,
    "1h": 60 * _MINUTE_MS,
    "4h": 240 * _MINUTE_MS,
    "1d": 1440 * _MINUTE_MS,
}
"""Candle intervals by name -> their length in ms; candles start at multiples of it (UTC)."""


class _Wire(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    pass


class PublicTrade(_Wire):
    """One trade of a market: ``seq`` is the journal seq of the command that traded, ``time``
    its stamp (Unix ms), at the maker's price."""

    seq: int
    time: int
    price: int
    size: int
    taker_is_buy: bool


class Candle(_Wire):
    """Open, high, low, close (price units) and volume (size units) of the trades from
    ``start`` (Unix ms) for one interval; ``trades`` counts them."""

    start: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    trades: int


class UnknownIntervalError(ValueError):
    pass


class MarketTape:
    """Subscribe :meth:`on_event` to the engine's bus; ``now_ms`` reads the stamp of the
    command being applied (replayed or live)."""

    def __init__(self, markets: Iterable[MarketId], now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms
        self._trades: dict[MarketId, deque[PublicTrade]] = {
            m: deque(maxlen=TRADES_KEPT) for m in markets
        }
        self._candles: dict[MarketId, dict[int, deque[Candle]]] = {
            m: {ms: deque(maxlen=CANDLES_KEPT) for ms in INTERVALS.values()} for m in self._trades
        }

    def on_event(self, event: Event) -> None:
        if type(event) is Filled:
            self.record(event)

    def record(self, fill: Filled) -> None:
        trades = self._trades.get(fill.market)
        if trades is None:
            return  # not a market of this tape (the engine refuses orders in those)
        now = self._now_ms()
        trades.append(
            PublicTrade(
                seq=fill.seq,
                time=now,
                price=fill.price,
                size=fill.size,
                taker_is_buy=fill.taker_side is Side.BUY,
            )
        )
        for length, candles in self._candles[fill.market].items():
            _add(candles, now - now % length, fill.price, fill.size)

    def trades(self, market: MarketId, limit: int) -> list[PublicTrade]:
        """The market's newest ``limit`` trades, newest first."""
        trades = self._trades[market]
        return [trades[-1 - i] for i in range(min(limit, len(trades)))]

    def candles(self, market: MarketId, interval: str, limit: int) -> list[Candle]:
        """The market's newest ``limit`` candles of ``interval``, oldest first."""
        length = INTERVALS.get(interval)
        if length is None:
            raise UnknownIntervalError(
                f"interval {interval!r} is not one of {', '.join(INTERVALS)}"
            )
        candles = self._candles[market][length]
        return list(candles)[max(len(candles) - limit, 0) :]


def _add(candles: deque[Candle], start: int, price: int, size: int) -> None:
    last = candles[-1] if candles else None
    # a stamp before the last candle's start (the wall clock stepped back) joins the last
    # candle: candles stay in time order
    if last is not None and start <= last.start:
        last.high = max(last.high, price)
        last.low = min(last.low, price)
        last.close = price
        last.volume += size
        last.trades += 1
        return
    candles.append(
        Candle(start=start, open=price, high=price, low=price, close=price, volume=size, trades=1)
    )
