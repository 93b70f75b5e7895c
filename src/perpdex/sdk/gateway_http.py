"""Reads of the gateway's HTTP API (same host and port as its WebSocket), blocking: the
async client runs them in a worker thread, the CLI directly."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import TypeVar

import msgspec

from perpdex.gateway.protocol import Error
from perpdex.sdk.gateway_errors import GatewayUnavailableError, gateway_error

HTTP_TIMEOUT_S = 10.0

_Decoded = TypeVar("_Decoded")


def http_get(ws_url: str, path: str, kind: type[_Decoded]) -> _Decoded:
    """``GET path`` of the gateway at ``ws_url``, decoded as ``kind``; an error frame
    raises its typed :class:`GatewayError`."""
    url = f"{http_url(ws_url)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            body: bytes = response.read()
    except urllib.error.HTTPError as error:
        raise gateway_error(msgspec.json.decode(error.read(), type=Error)) from None
    except OSError as error:
        raise GatewayUnavailableError(f"no answer from {url}: {error}") from None
    return msgspec.json.decode(body, type=kind)


def http_url(ws_url: str) -> str:
    """The gateway's HTTP base: its WebSocket URL with http(s) and no path."""
    scheme, _, rest = ws_url.partition("://")
    return f"{'https' if scheme == 'wss' else 'http'}://{rest.split('/', 1)[0]}"
