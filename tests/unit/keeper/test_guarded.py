"""A keeper tick's failure is logged once as an error and retried; a tick whose read of
the event loop was cancelled, or found it closed, because the process is stopping is
not a failure."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import threading
import warnings
from typing import Any

import pytest

from perpdex.core.types import MarketId
from perpdex.keeper.runner import guarded
from perpdex.services import keeper as keeper_service
from perpdex.services.keeper import LoopBooks


def test_a_read_cancelled_by_a_stopping_loop_cuts_the_tick_short_quietly(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.new_event_loop()
    scheduled = threading.Event()
    real = asyncio.run_coroutine_threadsafe

    def noted(coroutine: Any, on: asyncio.AbstractEventLoop) -> Any:
        future = real(coroutine, on)
        scheduled.set()
        return future

    monkeypatch.setattr(keeper_service.asyncio, "run_coroutine_threadsafe", noted)

    def books() -> dict[MarketId, object]:
        raise AssertionError("never read: the loop stops first")

    reads = LoopBooks(books, loop)  # type: ignore[arg-type]

    async def cancel_the_rest() -> None:  # as asyncio.run does to what is left at the end
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    with concurrent.futures.ThreadPoolExecutor(1) as pool, caplog.at_level(logging.INFO):
        ticked = pool.submit(guarded, "funding", lambda: reads.mid(MarketId(0)))
        assert scheduled.wait(10)
        # the read's task is made first and cancelled before its first step
        loop.run_until_complete(cancel_the_rest())
        loop.run_until_complete(asyncio.sleep(0))
        assert ticked.result(10) is False
    loop.close()
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "funding tick cut short" in caplog.text


def test_any_other_failure_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    def tick() -> None:
        raise ConnectionError("rpc down")

    with caplog.at_level(logging.INFO):
        assert guarded("funding", tick) is False
    assert [r.levelname for r in caplog.records] == ["ERROR"]


def test_a_read_of_a_closed_loop_cuts_the_tick_short_and_leaves_no_coroutine_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The node's loop closed while a tick ran in its worker thread: the read was never
    awaited (Python warned of it at the next garbage collection) and failed the tick."""
    loop = asyncio.new_event_loop()
    loop.close()
    reads = LoopBooks(lambda: {}, loop)

    with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.INFO):
        warnings.simplefilter("always")
        assert guarded("funding", lambda: reads.mid(MarketId(0))) is False
        gc.collect()
    assert [str(w.message) for w in warned] == []
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "funding tick cut short" in caplog.text
