"""The gateway's read queries, apart from any transport: each takes the state it reads
(the order registry, the account log, the tape) and returns wire structs. The HTTP routes
(``http.py``) are thin layers over these, so the ASGI app that replaces them reuses them.

Every query reads what is durable: a route releases the gateway first (the sequencer's
flush, the account log's commit), as the history pages do.
"""

from __future__ import annotations

import msgspec

from perpdex.core.types import Address, MarketId
from perpdex.gateway import protocol as wire
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.orders import OrderRegistry
from perpdex.gateway.protocol import hex0x


class _Wire(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    pass


class OpenOrder(_Wire):
    """An order on the book now (the gateway's live state): ``order`` is the signed order
    it rests as (an amend's replacement), ``remaining`` its open size (size units)."""

    market: int
    order_id: int
    order_hash: str
    client_id: str | None
    remaining: int
    order: wire.WireOrder


def open_orders(
    registry: OrderRegistry, trader: Address, market: MarketId | None = None
) -> list[OpenOrder]:
    """The trader's open orders (in ``market``, or every market), oldest first: by order id,
    since a cluster gateway's registry holds them in the order its replicas of the shards
    applied them, which differs from one replica start to the next."""
    found = [
        OpenOrder(
            market=record.market,
            order_id=record.order_id,
            order_hash=hex0x(record.signed.order_hash),
            client_id=record.client_id,
            remaining=record.remaining,
            order=wire.WireOrder.of(record.signed.order),
        )
        for record in registry.open_orders()
        if record.signed.order.trader == trader and market in (None, record.market)
    ]
    found.sort(key=lambda order: order.order_id)
    return found


def order_status(
    accounts: AccountLog,
    trader: Address,
    *,
    order_hash: str | None = None,
    client_id: str | None = None,
) -> wire.HistoricalOrder | None:
    """One of the trader's orders by hash or client id (the newest with it), as the history
    holds it: its fills' value and the reason it left the book included; None if the
    history has no such order."""
    return accounts.order(trader, order_hash=order_hash, client_id=client_id)
