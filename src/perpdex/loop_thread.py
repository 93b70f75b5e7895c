"""An asyncio event loop in a daemon thread, for synchronous callers of async code.

The blocking ccxt client runs the async client on one (a loop per call would open, log in
and close a WebSocket for each call), and the JetStream journal runs nats-py on one (the
engine's journal interface is synchronous and may be called from another loop's thread).
A caller blocks on a coroutine run there; exceptions come back in the caller's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

_Result = TypeVar("_Result")


class LoopClosedError(RuntimeError):
    """The loop thread was closed: nothing runs on it any more."""


class LoopThread:
    """An event loop running forever in a daemon thread, until ``close``."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        # Orders every run's scheduling before close's: a coroutine scheduled once the
        # loop was told to stop would never run, and its caller would wait for ever.
        self._lock = threading.Lock()
        self._closing = False
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, _Result]) -> _Result:
        """Run ``coroutine`` on the loop and wait for its result. A call in progress when
        another thread closes the loop raises ``concurrent.futures.CancelledError``; a
        call after that, ``LoopClosedError``."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("LoopThread.run called from its own loop: it would deadlock")
        with self._lock:
            if self._closing or not self._thread.is_alive():
                coroutine.close()
                raise LoopClosedError(f"the loop thread {self._thread.name!r} is closed")
            future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result()

    def close(self) -> None:
        """Cancel what still runs on the loop (the calls in progress, a client's tasks
        after a failed close), stop it and end the thread; a second close does nothing."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            # scheduled after every call's coroutine: each is a task when it cancels them
            cancelled = asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self.loop)
        cancelled.result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


async def _cancel_the_rest() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
