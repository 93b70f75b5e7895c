"""The HTTP read API, served on the WebSocket port (websockets' ``process_request``).

``GET /markets``, ``/book/{market}``, ``/trades/{market}?limit=N`` (newest first) and
``/candles/{market}?interval=1m&limit=N`` (the tape, ``tape.py``), ``/account/{address}``
(with each position's figures, :mod:`perpdex.gateway.position_view`), its open orders
``/account/{address}/open-orders?market=M``, one order
``/account/{address}/order?hash=0x..`` or ``?clientId=..``, the account's history
``/account/{address}/events|fills|orders?after=CURSOR&limit=N`` (pages from the account
store, by ``accountSeq`` or order id) and ``/journal?from=SEQ&limit=N`` (auditors: each
entry's bytes and chain head, and the command decoded). A request that asks for a
WebSocket upgrade passes through. The routes are thin: what they read is in
``queries.py`` and ``tape.py``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from perpdex.core.types import Address, MarketId
from perpdex.engine.codec import decode
from perpdex.gateway import protocol as wire
from perpdex.gateway.position_view import position_view
from perpdex.gateway.protocol import ErrorCode, hex0x
from perpdex.gateway.queries import open_orders, order_status
from perpdex.gateway.service import Gateway
from perpdex.gateway.tape import CANDLES_KEPT, TRADES_KEPT, UnknownIntervalError

MAX_JOURNAL_PAGE = 1000
MAX_HISTORY_PAGE = 1000
DEFAULT_HISTORY_PAGE = 100
DEFAULT_MARKET_DATA = 100
"""Trades or candles a request gets unless it asks for a number."""

_encode = msgspec.json.Encoder().encode


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class HttpApi:
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path, _, query = request.path.partition("?")
        try:
            body = self._route(path.strip("/").split("/"), parse_qs(query))
            return _response(HTTPStatus.OK, _encode(body))
        except HttpError as error:
            frame = wire.Error(code=error.code, message=error.message)
            return _response(error.status, wire.encode_frame(frame))

    def _route(self, parts: list[str], query: dict[str, list[str]]) -> Any:
        gateway = self._gateway
        gateway.release()  # what is read below must be durable
        match parts:
            case ["markets"]:
                return [
                    {
                        "market": m,
                        "tickSize": book.config.tick_size,
                        "lotSize": book.config.lot_size,
                    }
                    for m, book in gateway.engine.markets.items()
                ]
            case ["book", market]:
                return gateway.feeds.snapshot(self._market(market))
            case ["trades", market]:
                limit = _limit(query, TRADES_KEPT)
                return gateway.tape.trades(self._market(market), limit)
            case ["candles", market]:
                limit = _limit(query, CANDLES_KEPT)
                interval = query.get("interval", ["1m"])[0]
                try:
                    return gateway.tape.candles(self._market(market), interval, limit)
                except UnknownIntervalError as error:
                    raise HttpError(
                        HTTPStatus.BAD_REQUEST, ErrorCode.MALFORMED, str(error)
                    ) from None
            case ["account", address]:
                return self._account(address)
            case ["account", address, "open-orders"]:
                only = query.get("market")
                return open_orders(
                    gateway.registry,
                    self._address(address),
                    None if only is None else self._market(only[0]),
                )
            case ["account", address, "order"]:
                return self._order(address, query)
            case ["account", address, "events" | "fills" as kind]:
                after, limit = self._page(query)
                rows = gateway.accounts.events(
                    self._address(address), after, limit, None if kind == "events" else "fill"
                )
                return _page("events", rows, limit)
            case ["account", address, "orders"]:
                after, limit = self._page(query)
                return _page(
                    "orders", gateway.accounts.orders(self._address(address), after, limit), limit
                )
            case ["journal"]:
                return self._journal(_int(query, "from", 1), _int(query, "limit", 100))
        raise HttpError(HTTPStatus.NOT_FOUND, ErrorCode.MALFORMED, "no such resource")

    def _market(self, text: str) -> MarketId:
        market = MarketId(_to_int(text, "market"))
        if market not in self._gateway.engine.markets:
            raise HttpError(HTTPStatus.NOT_FOUND, ErrorCode.UNKNOWN_MARKET, f"no market {market}")
        return market

    def _address(self, text: str) -> Address:
        try:
            return wire.parse_address(text)
        except ValueError as error:
            raise HttpError(HTTPStatus.BAD_REQUEST, ErrorCode.MALFORMED, str(error)) from None

    def _page(self, query: dict[str, list[str]]) -> tuple[int, int]:
        after, limit = _int(query, "after", 0), _int(query, "limit", DEFAULT_HISTORY_PAGE)
        if after < 0 or not 0 < limit <= MAX_HISTORY_PAGE:
            raise HttpError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.MALFORMED,
                f"after must be >= 0 and limit 1 to {MAX_HISTORY_PAGE}",
            )
        return after, limit

    def _account(self, address: str) -> dict[str, Any]:
        trader = self._address(address)
        gateway = self._gateway
        return {
            "trader": trader,
            "openOrders": open_orders(gateway.registry, trader),
            "account": gateway.feeds.account_state(trader),
            "positions": [position_view(p) for p in gateway.risk.positions(trader)],
        }

    def _order(self, address: str, query: dict[str, list[str]]) -> Any:
        trader = self._address(address)
        order_hash, client_id = query.get("hash"), query.get("clientId")
        if (order_hash is None) == (client_id is None):
            raise HttpError(
                HTTPStatus.BAD_REQUEST, ErrorCode.MALFORMED, "name the order by hash or clientId"
            )
        report = order_status(
            self._gateway.accounts,
            trader,
            order_hash=None if order_hash is None else order_hash[0].lower(),
            client_id=None if client_id is None else client_id[0],
        )
        if report is None:
            raise HttpError(HTTPStatus.NOT_FOUND, ErrorCode.UNKNOWN_ORDER, "no such order")
        return report

    def _journal(self, first: int, limit: int) -> dict[str, Any]:
        journal = self._gateway.commands.journal
        if journal is None:
            raise HttpError(HTTPStatus.NOT_FOUND, ErrorCode.MALFORMED, "no journal configured")
        if first < 1 or not 0 < limit <= MAX_JOURNAL_PAGE:
            raise HttpError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.MALFORMED,
                f"from must be >= 1 and limit 1 to {MAX_JOURNAL_PAGE}",
            )
        entries: list[dict[str, Any]] = []
        # The chain is read (and checked) from genesis: a page costs a scan of the journal.
        for entry in journal.read():
            if entry.seq < first:
                continue
            if len(entries) == limit:
                break
            seq, stamp, command = decode(entry.entry)
            entries.append(
                {
                    "seq": seq,
                    "time": stamp,
                    "command": type(command).__name__,
                    "fields": command,
                    "entry": hex0x(entry.entry),
                    "head": hex0x(entry.head),
                }
            )
        head = journal.head
        return {"head": {"seq": head.seq, "head": hex0x(head.head)}, "entries": entries}


def _page(name: str, rows: list[tuple[int, bytes]], limit: int) -> dict[str, Any]:
    """A history page: the stored frames as they are, and the cursor of the next page."""
    return {
        name: [msgspec.Raw(data) for _, data in rows],
        "next": rows[-1][0] if len(rows) == limit else None,
    }


def _response(status: HTTPStatus, body: bytes) -> Response:
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


def _limit(query: dict[str, list[str]], most: int) -> int:
    limit = _int(query, "limit", min(DEFAULT_MARKET_DATA, most))
    if not 0 < limit <= most:
        raise HttpError(HTTPStatus.BAD_REQUEST, ErrorCode.MALFORMED, f"limit must be 1 to {most}")
    return limit


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    return default if not values else _to_int(values[0], name)


def _to_int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise HttpError(
            HTTPStatus.BAD_REQUEST, ErrorCode.MALFORMED, f"{name}: not an integer"
        ) from None
