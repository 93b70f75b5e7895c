"""The background loops of a cluster process, started with it and cancelled by its stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class Tasks:
    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def spawn(self, body: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(body)
        self._tasks.append(task)
        return task

    async def cancel(self) -> None:
        """Cancel every loop and wait until each has ended (in the order they started)."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
