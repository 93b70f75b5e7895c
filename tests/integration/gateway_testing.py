"""Helpers of the gateway tests: a gateway on loopback over a fresh engine, signed orders
of fixed test keys, and the frames a websocket client sends and reads."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from weakref import WeakKeyDictionary

from websockets.asyncio.client import ClientConnection

from perpdex.core.eip712 import (
    NO_SESSION_KEY,
    ChainId,
    Eip712Domain,
    FeePpm,
    Login,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    sign_login,
    sign_order,
)
from perpdex.core.signing import SigningKey
from perpdex.core.types import Address, MarginMode, MarketId, Price, Size, TimeInForce
from perpdex.engine.clock import WallClock
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventBus
from perpdex.engine.file_journal import FileJournal
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway import protocol as wire
from perpdex.gateway.limits import Limits
from perpdex.gateway.receipts import ReceiptSigner
from perpdex.gateway.risk import AllowAll, RiskCheck
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import MAX_RESUME_EVENTS, Gateway

DOMAIN = Eip712Domain(ChainId(31337), Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
MARKETS = (MarketConfig(MarketId(0), tick_size=10, lot_size=1000), MarketConfig(MarketId(1)))
MAKER = SigningKey(bytes(31) + b"\x01")
TAKER = SigningKey(bytes(31) + b"\x02")
STRANGER = SigningKey(bytes(31) + b"\x03")


@asynccontextmanager
async def running_gateway(
    *,
    risk: RiskCheck | None = None,
    journal: Path | None = None,
    limits: Limits | None = None,
    max_resume_events: int = MAX_RESUME_EVENTS,
    receipts: ReceiptSigner | None = None,
    group_size: int = 1024,
) -> AsyncIterator[GatewayServer]:
    bus = EventBus()
    store = None if journal is None else FileJournal(journal)
    sequencer = Sequencer(Engine(MARKETS, bus), WallClock(), store, group_size=group_size)
    gateway = Gateway(
        sequencer,
        bus,
        DOMAIN,
        risk=risk if risk is not None else AllowAll(),
        limits=limits,
        max_resume_events=max_resume_events,
        receipts=receipts,
    )
    try:
        async with GatewayServer(gateway) as server:
            yield server
    finally:
        gateway.close_receipts()
        if store is not None:
            store.close()


def order(
    key: SigningKey,
    nonce: int,
    *,
    is_buy: bool,
    price: int = 1000,
    size: int = 1000,
    market: int = 0,
    tif: TimeInForce = TimeInForce.GTC,
    expiry: int | None = None,
) -> Order:
    return Order(
        trader=key.address,
        market=MarketId(market),
        is_buy=is_buy,
        size=Size(size),
        limit_price=Price(price),
        max_fee_ppm=FeePpm(1000),
        margin_mode=MarginMode.CROSS,
        time_in_force=tif,
        reduce_only=False,
        expiry=UnixTime(int(time.time()) + 3600 if expiry is None else expiry),
        nonce=Nonce(nonce),
    )


def place(signed: SignedOrder, *, id: int | None = None, client_id: str | None = None) -> bytes:
    return wire.encode_frame(
        wire.PlaceRequest(
            id=id,
            order=wire.WireOrder.of(signed.order),
            signature=wire.hex0x(signed.signature.to_bytes()),
            client_id=client_id,
        )
    )


def signed(key: SigningKey, nonce: int, **terms: object) -> SignedOrder:
    return sign_order(order(key, nonce, **terms), key, DOMAIN)


_UNREAD: WeakKeyDictionary[ClientConnection, deque[wire.Frame]] = WeakKeyDictionary()


async def next_frame(ws: ClientConnection) -> wire.Frame:
    """The next server frame (a message may carry several)."""
    unread = _UNREAD.setdefault(ws, deque())
    if not unread:
        unread.extend(wire.decode_server_frames(await ws.recv()))
    return unread.popleft()


def url(server: GatewayServer, path: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


async def login(ws: ClientConnection, key: SigningKey, nonce: int, **extra: object) -> None:
    terms = Login(key.address, NO_SESSION_KEY, UnixTime(int(time.time()) + 60), Nonce(nonce))
    request = wire.LoginRequest(
        id=1,
        login=wire.WireLogin.of(terms),
        signature=wire.hex0x(sign_login(terms, key, DOMAIN).to_bytes()),
        **extra,
    )
    await ws.send(wire.encode_frame(request).decode())
    assert isinstance(await next_frame(ws), wire.LoggedIn)


async def error_of(ws: ClientConnection, frame: bytes | str) -> wire.Error:
    await ws.send(frame if isinstance(frame, str) else frame.decode())
    reply = await next_frame(ws)
    assert isinstance(reply, wire.Error), reply
    return reply


async def placed(
    ws: ClientConnection, order: SignedOrder, *, client_id: str | None = None
) -> wire.Placed:
    """Sends ``order`` and expects it accepted."""
    await ws.send(place(order, client_id=client_id).decode())
    reply = await next_frame(ws)
    assert isinstance(reply, wire.Placed), reply
    return reply
