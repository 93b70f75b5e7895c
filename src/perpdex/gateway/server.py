"""The gateway's network side: one port for the WebSocket protocol and the HTTP reads.

Frames above ``max_frame`` (the protocol's limit) get a ``too_large`` error and the
connection stays up; websockets drops frames above ``socket_max_size`` without reading
them and closes the connection with code 1009 (message too big): that much is never
buffered. Compression is off: frames are small and deflate costs more than it saves on
loopback and in a data centre.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from perpdex.gateway.http import HttpApi
from perpdex.gateway.service import MAX_FRAME, Gateway

SOCKET_MAX_SIZE = 1024 * 1024
TICK_INTERVAL_S = 0.05


class GatewayServer:
    """``async with GatewayServer(gateway, host, port) as server: ...``; ``server.port``."""

    def __init__(
        self,
        gateway: Gateway,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        socket_max_size: int = max(SOCKET_MAX_SIZE, MAX_FRAME),
    ) -> None:
        self.gateway = gateway
        self._host = host
        self._port = port
        self._socket_max_size = socket_max_size
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> GatewayServer:
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            process_request=HttpApi(self.gateway).process_request,
            max_size=self._socket_max_size,
            compression=None,
        )
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.gateway.release()

    async def _handle(self, connection: ServerConnection) -> None:
        gateway = self.gateway
        session = gateway.open_session(connection)
        try:
            async for message in connection:
                await gateway.handle_frame(session, message, time.perf_counter_ns())
                # Let the release of this frame's answers run before the next buffered frame
                # is read: without it a burst is answered only after its last frame.
                await asyncio.sleep(0)
        except ConnectionClosed:
            pass
        finally:
            gateway.close_session(session)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_INTERVAL_S)
            self.gateway.tick()
