"""The one read of the gateway's HTTP API the SDK has no method for: a market's whole book
(``GET /book/{market}``, docs/protocol.md), so ``fetch_order_book`` needs no subscription."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import msgspec

from perpdex.core.types import MarketId
from perpdex.gateway.protocol import BookSnapshot, Error
from perpdex.sdk.client import REQUEST_TIMEOUT_S
from perpdex.sdk.gateway_errors import GatewayUnavailableError, gateway_error


def http_base(ws_url: str) -> str:
    """The gateway's HTTP base: its WebSocket URL with http(s) and no path."""
    scheme, _, rest = ws_url.partition("://")
    return f"{'https' if scheme == 'wss' else 'http'}://{rest.split('/', 1)[0]}"


async def book_snapshot(ws_url: str, market: MarketId) -> BookSnapshot:
    url = f"{http_base(ws_url)}/book/{market}"

    def fetch() -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as error:
            raise gateway_error(msgspec.json.decode(error.read(), type=Error)) from None
        except OSError as error:
            raise GatewayUnavailableError(f"no answer from {url}: {error}") from None

    return msgspec.json.decode(await asyncio.to_thread(fetch), type=BookSnapshot)
