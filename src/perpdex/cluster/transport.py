"""A NATS connection for synchronous callers, and which failures mean "unavailable".

nats-py is asyncio; the engine's journal interface is synchronous and may be called from
an event loop's thread (the gateway's), so the journal runs its client on a private
:class:`perpdex.loop_thread.LoopThread`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Final, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client

from perpdex.cluster.errors import JetStreamUnavailableError

log = logging.getLogger(__name__)

RECONNECT_WAIT_S: Final = 0.25
RETRY_S: Final = 0.2
START_TIMEOUT_S: Final = 15.0
"""How long a process's start waits for JetStream: past a stream leader's election (4 to 9 s
after a NATS node died)."""

_T = TypeVar("_T")

# What a write meets while JetStream has no quorum, no stream leader or no server at all.
UNAVAILABLE: Final = (
    asyncio.TimeoutError,  # nats.errors.TimeoutError too
    OSError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
)


async def until_available(call: Callable[[], Awaitable[_T]], timeout_s: float) -> _T:
    """``call()``, made again while it raises ``JetStreamUnavailableError``, for up to
    ``timeout_s``; then that error. For a process's start: a stream leader being elected
    (a NATS node just died), or an answer waiting past its timeout behind the history the
    process is applying on the same loop, is no reason to exit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            return await call()
        except JetStreamUnavailableError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(RETRY_S)


@asynccontextmanager
async def unavailable_on_failure(what: str) -> AsyncIterator[None]:
    """Re-raise a transport failure inside the block as ``JetStreamUnavailableError``."""
    try:
        yield
    except UNAVAILABLE as error:
        raise JetStreamUnavailableError(f"{what}: {type(error).__name__} {error}") from error


async def connect(
    servers: Sequence[str],
    *,
    name: str,
    timeout_s: float = 2.0,
    buffer_while_reconnecting: bool = True,
) -> Client:
    """A client that reconnects forever, to any of ``servers``, while the process lives.

    ``buffer_while_reconnecting`` False: a publish while the connection is down fails at
    once (``OutboundBufferLimitError``, unavailable) instead of waiting in the client's
    buffer to go out after the reconnect: a gateway that told a trader ``unavailable``
    must not have the command land later."""

    async def on_error(error: Exception) -> None:
        log.debug("nats %s: %s", name, error)

    async def on_disconnected() -> None:
        log.info("nats %s: disconnected", name)

    async def on_reconnected() -> None:
        log.info("nats %s: reconnected", name)

    async with unavailable_on_failure(f"connect to {list(servers)}"):
        return await nats.connect(
            servers=list(servers),
            name=name,
            connect_timeout=max(1, round(timeout_s)),
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT_S,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
            **({} if buffer_while_reconnecting else {"pending_size": 0}),
        )
