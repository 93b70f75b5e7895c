"""The loop thread (the blocking ccxt client's, the JetStream journal's): results come
back, a closed loop refuses, a call racing the close ends instead of waiting for ever, and
a call from the loop's own thread is refused instead of deadlocking."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

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


def test_a_caller_racing_the_close_always_ends() -> None:
    """The cluster keeper's checkpoint tick reads a journal in a worker thread while the
    process closes it: a call scheduled after the close cancelled what ran, but before the
    loop stopped, was never run and its caller waited for ever (a quarter of the tries
    here, before the fix)."""
    for _ in range(100):
        runner = LoopThread("test")
        calling = threading.Event()

        def caller(runner: LoopThread = runner, calling: threading.Event = calling) -> None:
            calling.set()
            while True:
                try:
                    runner.run(asyncio.sleep(0))
                except (LoopClosedError, concurrent.futures.CancelledError):
                    return

        thread = threading.Thread(target=caller, daemon=True)
        thread.start()
        calling.wait()
        time.sleep(0.001)
        runner.close()
        thread.join(5.0)
        assert not thread.is_alive(), "a call outlived the close of its loop"
