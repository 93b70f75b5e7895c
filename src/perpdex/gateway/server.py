"""The gateway's network side: the WebSocket protocol on its own port. The HTTP reads are
the node's HTTP API (``perpdex.http``) on another port: a request here that is not a
WebSocket upgrade is answered ``426 Upgrade Required`` with that API's URL
(``{"code": "use_http_api", "message", "webUrl", "httpPort"}``), which is how the SDK finds
it from the gateway's URL alone.

Frames above ``max_frame`` (the protocol's limit) get a ``too_large`` error and the
connection stays up; websockets drops frames above ``socket_max_size`` without reading
them and closes the connection with code 1009 (message too big): that much is never
buffered. Compression is off: frames are small and deflate costs more than it saves on
loopback and in a data centre.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from http import HTTPStatus
from types import TracebackType
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from perpdex.gateway.service import MAX_FRAME, Gateway

SOCKET_MAX_SIZE = 1024 * 1024
TICK_INTERVAL_S = 0.05


class GatewayServer:
    """``async with GatewayServer(gateway, host, port) as server: ...``; ``server.port``.
    ``web_url``: the HTTP API that plain HTTP requests here are pointed at."""

    def __init__(
        self,
        gateway: Gateway,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        web_url: str | None = None,
        socket_max_size: int = max(SOCKET_MAX_SIZE, MAX_FRAME),
    ) -> None:
        self.gateway = gateway
        self.web_url = web_url
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
            process_request=self._not_websocket,
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

    def _not_websocket(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        url = self.web_url
        answer = {
            "code": "use_http_api",
            "message": "this port speaks the WebSocket protocol only; "
            + ("this gateway has no HTTP API" if url is None else f"HTTP reads are at {url}"),
            "webUrl": url,
            "httpPort": None if url is None else urlsplit(url).port,
        }
        body = json.dumps(answer).encode()
        status = HTTPStatus.UPGRADE_REQUIRED
        headers = Headers(
            [
                ("Upgrade", "websocket"),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
            ]
        )
        return Response(status.value, status.phrase, headers, body)

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
