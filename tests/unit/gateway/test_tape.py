"""The tape: recent trades newest first, bounded; OHLCV candles per interval from the
command stamps, bounded, rebuilt the same by a replay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perpdex.core.types import Address, MarketId, OrderId, Side
from perpdex.engine.events import Filled
from perpdex.gateway import tape as tape_module
from perpdex.gateway.tape import INTERVALS, Candle, MarketTape, UnknownIntervalError

M = MarketId(0)
MINUTE = 60_000
T0 = 1_800_000_000_000 - 1_800_000_000_000 % (1440 * MINUTE)  # a UTC midnight


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def _fill(seq: int, price: int, size: int, side: Side = Side.BUY) -> Filled:
    a, b = Address("0x" + "11" * 20), Address("0x" + "22" * 20)
    return Filled(seq, M, OrderId(seq), OrderId(0), a, b, side, price, size, b"", b"")


def _tape(trades: list[tuple[int, int, int]]) -> MarketTape:
    """A tape fed fills at (ms after T0, price, size)."""
    clock = _Clock()
    tape = MarketTape([M], clock)
    for seq, (at, price, size) in enumerate(trades, 1):
        clock.now = T0 + at
        tape.on_event(_fill(seq, price, size))
    return tape


def test_candles_are_ohlcv_of_each_interval_and_skip_empty_ones() -> None:
    tape = _tape(
        [(0, 100, 1), (10_000, 105, 2), (59_999, 98, 3), (60_000, 101, 1), (3 * MINUTE, 99, 5)]
    )
    assert tape.candles(M, "1m", 10) == [
        Candle(start=T0, open=100, high=105, low=98, close=98, volume=6, trades=3),
        Candle(start=T0 + MINUTE, open=101, high=101, low=101, close=101, volume=1, trades=1),
        Candle(start=T0 + 3 * MINUTE, open=99, high=99, low=99, close=99, volume=5, trades=1),
    ]
    (five,) = tape.candles(M, "5m", 10)
    assert five == Candle(start=T0, open=100, high=105, low=98, close=99, volume=12, trades=5)
    assert tape.candles(M, "1m", 1) == tape.candles(M, "1m", 10)[-1:]  # the newest
    with pytest.raises(UnknownIntervalError):
        tape.candles(M, "2m", 10)


@given(
    st.lists(
        st.tuples(st.integers(0, 3 * 86_400_000), st.integers(1, 10**12), st.integers(1, 10**9)),
        max_size=40,
    ),
    st.sampled_from(sorted(INTERVALS)),
)
def test_every_interval_agrees_with_a_direct_grouping(
    raw: list[tuple[int, int, int]], interval: str
) -> None:
    trades = sorted(raw, key=lambda t: t[0])  # the journal's stamps never go back here
    length = INTERVALS[interval]
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for trade in trades:
        groups.setdefault(T0 + trade[0] - (T0 + trade[0]) % length, []).append(trade)
    expected = [
        Candle(
            start=start,
            open=group[0][1],
            high=max(p for _, p, _ in group),
            low=min(p for _, p, _ in group),
            close=group[-1][1],
            volume=sum(s for _, _, s in group),
            trades=len(group),
        )
        for start, group in sorted(groups.items())
    ]
    assert _tape(trades).candles(M, interval, 1000) == expected


def test_a_clock_step_back_joins_the_last_candle() -> None:
    tape = _tape([(2 * MINUTE, 100, 1), (MINUTE, 90, 1)])
    (candle,) = tape.candles(M, "1m", 10)
    assert (candle.start, candle.low, candle.close, candle.trades) == (T0 + 2 * MINUTE, 90, 90, 2)


def test_trades_newest_first_with_their_stamp_and_taker_side() -> None:
    clock = _Clock()
    tape = MarketTape([M], clock)
    tape.on_event(_fill(1, 100, 1, Side.BUY))
    clock.now += 5
    tape.on_event(_fill(2, 101, 2, Side.SELL))
    newest, oldest = tape.trades(M, 10)
    assert (newest.seq, newest.time, newest.price, newest.taker_is_buy) == (2, T0 + 5, 101, False)
    assert (oldest.seq, oldest.time, oldest.taker_is_buy) == (1, T0, True)
    assert tape.trades(M, 1) == [newest]


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tape_module, "TRADES_KEPT", 3)
    monkeypatch.setattr(tape_module, "CANDLES_KEPT", 2)
    tape = _tape([(i * MINUTE, 100 + i, 1) for i in range(10)])
    assert [t.seq for t in tape.trades(M, 100)] == [10, 9, 8]
    assert [c.open for c in tape.candles(M, "1m", 100)] == [108, 109]
