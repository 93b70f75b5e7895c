"""Reads of the node's HTTP API (``perpdex.http``), blocking: the async client runs them in
a worker thread, the CLI directly. Replies are decoded with the API's own models.

The API has its own port. :func:`discover_http_url` finds it from the gateway's URL
alone: the gateway answers a plain HTTP request with ``426 Upgrade Required`` and the
API's port (``httpPort``), which is joined to the host the caller reached the gateway at
(the node may announce an address it binds, such as 0.0.0.0, that is not the one to
call). That works with every gateway, whatever deployment file the caller has; a URL
given explicitly (``Client(http_url=...)``, a proxy's) takes its place.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from functools import cache
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import TypeAdapter

from perpdex.gateway.protocol import Error, ErrorCode
from perpdex.sdk.gateway_errors import GatewayError, GatewayUnavailableError, gateway_error

HTTP_TIMEOUT_S = 10.0

_Decoded = TypeVar("_Decoded")


def http_get(base_url: str, path: str, kind: type[_Decoded]) -> _Decoded:
    """``GET path`` of the API at ``base_url``, decoded as ``kind`` (a model of
    :mod:`perpdex.http.models`, or a list of them); an error reply raises its typed
    :class:`GatewayError`."""
    url = f"{base_url.rstrip('/')}{path}"
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            body: bytes = response.read()
    except urllib.error.HTTPError as error:
        raise _error(error.code, error.read()) from None
    except OSError as error:
        raise GatewayUnavailableError(f"no answer from {url}: {error}") from None
    decoded: _Decoded = _adapter(kind).validate_json(body)  # type: ignore[arg-type]
    return decoded


def discover_http_url(ws_url: str) -> str:
    """The HTTP API of the gateway at ``ws_url`` (see the module doc)."""
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    probe = f"{scheme}://{parts.netloc}/"
    try:
        with urllib.request.urlopen(probe, timeout=HTTP_TIMEOUT_S) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except OSError as error:
        raise GatewayUnavailableError(f"no answer from {probe}: {error}") from None
    port = _announced(body).get("httpPort") if status == HTTPStatus.UPGRADE_REQUIRED else None
    if not isinstance(port, int):
        raise GatewayError(f"the gateway at {ws_url} announces no HTTP API")
    host = parts.hostname or "127.0.0.1"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def _announced(body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error(status: int, body: bytes) -> GatewayError:
    answer = _announced(body)
    message = str(answer.get("message") or f"HTTP {status}")
    try:
        code = ErrorCode(answer.get("code"))
    except ValueError:
        return GatewayError(message, str(answer.get("code") or status))
    return gateway_error(Error(code=code, message=message))


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)
