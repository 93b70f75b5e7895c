"""A keeper loop cancelled while its tick runs in a worker thread ends only once the tick
returned: the cluster keeper's stop closes its journals next, and a checkpoint tick left
reading one of them waited for ever (a hang of the test suite)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from perpdex.keeper.runner import tick_in_thread


def test_a_cancel_waits_for_the_tick_in_its_thread() -> None:
    entered, release = threading.Event(), threading.Event()
    ended: list[str] = []

    def tick() -> str:
        entered.set()
        release.wait(10.0)
        ended.append("tick")
        return "done"

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(tick_in_thread(tick))
        await loop.run_in_executor(None, entered.wait)
        task.cancel()
        await asyncio.sleep(0.2)
        assert not task.done(), "the cancel went on while the tick still ran"
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ended == ["tick"]

    asyncio.run(scenario())


def test_an_uncancelled_tick_returns_its_result() -> None:
    async def scenario() -> str:
        return await tick_in_thread(lambda: "done")

    assert asyncio.run(scenario()) == "done"
