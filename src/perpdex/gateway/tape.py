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


_Trade = tuple[int, int, int, int, bool]
"""(seq, time, price, size, taker is buy): a trade as kept (a tuple costs the matching loop
less than a struct; the query builds the struct)."""

_Bar = list[int]
"""[start, open, high, low, close, volume, trades]: a candle as kept, updated in place."""


class _Market:
    """One market's tape. A fill updates the open minute only; when a later minute starts,
    the closed one is folded into every interval's series (one fold per minute, not per
    fill: the matching loop pays for one candle, not six), and a query merges the open
    minute into a copy of each series' newest candle."""

    __slots__ = ("minute", "series", "trades")

    def __init__(self) -> None:
        self.trades: deque[_Trade] = deque(maxlen=TRADES_KEPT)
        self.minute: _Bar | None = None
        self.series: dict[int, deque[_Bar]] = {
            length: deque(maxlen=CANDLES_KEPT) for length in INTERVALS.values()
        }

    def add(self, now: int, price: int, size: int) -> None:
        minute = self.minute
        start = now - now % _MINUTE_MS
        # a stamp before the open minute (the wall clock stepped back) joins it: candles
        # stay in time order
        if minute is not None and start <= minute[0]:
            _merge(minute, price, price, price, size, 1)
            return
        if minute is not None:
            self._fold(minute)
        self.minute = [start, price, price, price, price, size, 1]

    def candles(self, length: int, limit: int) -> list[_Bar]:
        bars = list(self.series[length])
        minute = self.minute
        if minute is not None:
            bucket = minute[0] - minute[0] % length
            if bars and bars[-1][0] == bucket:
                bars[-1] = list(bars[-1])
                _merge(bars[-1], minute[2], minute[3], minute[4], minute[5], minute[6])
            else:
                bars.append([bucket, *minute[1:]])
        return bars[max(len(bars) - min(limit, CANDLES_KEPT), 0) :]

    def _fold(self, minute: _Bar) -> None:
        for length, series in self.series.items():
            bucket = minute[0] - minute[0] % length
            if series and series[-1][0] == bucket:
                _merge(series[-1], minute[2], minute[3], minute[4], minute[5], minute[6])
            else:
                series.append([bucket, *minute[1:]])


class MarketTape:
    """Subscribe :meth:`on_event` to the engine's bus; ``now_ms`` reads the stamp of the
    command being applied (replayed or live)."""

    def __init__(self, markets: Iterable[MarketId], now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms
        self._markets = {market: _Market() for market in markets}
        self.fills = 0
        """Fills recorded since the journal began (``GET /metrics``)."""

    def on_event(self, event: Event) -> None:
        if type(event) is Filled:
            self.record(event)

    def record(self, fill: Filled) -> None:
        market = self._markets.get(fill.market)
        if market is None:
            return  # not a market of this tape (the engine refuses orders in those)
        now = self._now_ms()
        self.fills += 1
        market.trades.append((fill.seq, now, fill.price, fill.size, fill.taker_side is Side.BUY))
        market.add(now, fill.price, fill.size)

    def trades(self, market: MarketId, limit: int) -> list[PublicTrade]:
        """The market's newest ``limit`` trades, newest first."""
        trades = self._markets[market].trades
        return [
            PublicTrade(seq=seq, time=time, price=price, size=size, taker_is_buy=buy)
            for seq, time, price, size, buy in (
                trades[-1 - i] for i in range(min(limit, len(trades)))
            )
        ]

    def candles(self, market: MarketId, interval: str, limit: int) -> list[Candle]:
        """The market's newest ``limit`` candles of ``interval``, oldest first."""
        length = INTERVALS.get(interval)
        if length is None:
            raise UnknownIntervalError(
                f"interval {interval!r} is not one of {', '.join(INTERVALS)}"
            )
        return [
            Candle(start=b[0], open=b[1], high=b[2], low=b[3], close=b[4], volume=b[5], trades=b[6])
            for b in self._markets[market].candles(length, limit)
        ]


def _merge(bar: _Bar, high: int, low: int, close: int, volume: int, trades: int) -> None:
    """Extend ``bar`` by later trades with these figures."""
    if high > bar[2]:
        bar[2] = high
    if low < bar[3]:
        bar[3] = low
    bar[4] = close
    bar[5] += volume
    bar[6] += trades
