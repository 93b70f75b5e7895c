"""The blocking unified client, ``from perpdex.ccxt import perpdex``: the async client
driven from a caller that does not run asyncio.

One event loop per client, in a daemon thread started with the client, runs every call
(``run_coroutine_threadsafe``) and holds the gateway connection between calls. A loop per
call (``asyncio.run``) would open, log in and close a WebSocket for each call and lose the
account's subscriptions; a loop in a thread keeps one connection, as the async client
does. Calls from several threads are serialised by that loop. ``close()`` (or ``with``)
ends the connection and the thread.

Every method of the async client is here with the same name and arguments (camelCase
aliases included), returning its result instead of a coroutine; attributes (``markets``,
``symbols``, ``has``, ...) are the async client's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self

from perpdex.ccxt.async_support.exchange import perpdex as AsyncPerpdex
from perpdex.ccxt.errors import ExchangeClosedByUser
from perpdex.loop_thread import LoopClosedError, LoopThread


class perpdex:
    """``perpdex({"privateKey": "0x...", "deployment": "deployments/local.json"})``"""

    id = AsyncPerpdex.id
    name = AsyncPerpdex.name
    has = AsyncPerpdex.has

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._async = AsyncPerpdex(config)  # validates the configuration before a thread starts
        self._runner = LoopThread(f"perpdex ccxt {self._async.walletAddress}")

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._async, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        return self._blocking(attribute)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self._async)))

    def _blocking(self, method: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return self._runner.run(method(*args, **kwargs))
            except LoopClosedError as error:
                raise ExchangeClosedByUser("the client is closed") from error

        return call

    def close(self) -> None:
        """End the gateway connection and the loop's thread (the client is unusable after)."""
        try:
            self._runner.run(self._async.close())
        except LoopClosedError:
            return
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
