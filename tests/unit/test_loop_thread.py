"""The loop thread (the blocking ccxt client's, the JetStream journal's): results come
back, a closed loop refuses, and a call from the loop's own thread is refused instead of
deadlocking."""

from __future__ import annotations

import asyncio

import pytest

from perpdex.loop_thread import LoopClosedError, LoopThread


def test_calls_run_on_one_loop_in_one_thread() -> None:
    runner = LoopThread("test")

    async def where() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def fail() -> None:
        raise ZeroDivisionError

    try:
        assert runner.run(where()) is runner.run(where()) is runner.loop
        with pytest.raises(ZeroDivisionError):
            runner.run(fail())  # raised in the caller's thread
    finally:
        runner.close()
    with pytest.raises(LoopClosedError):
        runner.run(where())


def test_a_call_from_the_loop_thread_is_refused() -> None:
    runner = LoopThread("test")

    async def nested() -> None:
        runner.run(asyncio.sleep(0))

    try:
        with pytest.raises(RuntimeError, match="deadlock"):
            runner.run(nested())
    finally:
        runner.close()
