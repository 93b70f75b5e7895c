"""The gateway's record of the orders it placed: by engine id, by hash, and by client id.

Every order hash the engine accepted stays known until its expiry, which is what refuses
a replayed order (the engine would take it again under a new id, and the contract would
let it fill up to its signed size a second time). A record keeps the original ack, so a
retry of the same order with the same client order id gets that ack again (idempotent).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from perpdex.core.eip712 import SignedOrder
from perpdex.core.types import ClientOrderId, MarketId, OrderHash, OrderId
from perpdex.gateway.session import Session

_STILL_OPEN_RECHECK_S = 60


@dataclass(slots=True, eq=False)
class OrderRecord:
    """One engine order; ``signed`` is the current signed order (amends replace it)."""

    order_id: OrderId
    market: MarketId
    signed: SignedOrder
    client_id: ClientOrderId | None
    request_id: int | None
    origin: Session | None  # the connection that placed it (gets the ack); None once acked
    remaining: int = 0
    ack: bytes = b""  # the encoded ``placed`` frame, sent again to an idempotent retry

    @property
    def is_open(self) -> bool:
        return self.remaining > 0


class OrderRegistry:
    def __init__(self) -> None:
        self._by_id: dict[OrderId, OrderRecord] = {}
        self._by_hash: dict[OrderHash, OrderRecord] = {}
        self._expiries: list[tuple[int, OrderHash]] = []  # heap of (expiry s, hash)

    def add(self, record: OrderRecord) -> None:
        self._by_id[record.order_id] = record
        self._index_hash(record)

    def remember(self, record: OrderRecord) -> None:
        """A hash the engine accepted before a restart: refused as a replay until its
        expiry (``record`` is closed and not found by id). A hash already known stays."""
        if record.signed.order_hash not in self._by_hash:
            self._index_hash(record)

    def discard(self, record: OrderRecord) -> None:
        """Forget an order the engine refused: its hash may be placed again."""
        del self._by_id[record.order_id]
        del self._by_hash[record.signed.order_hash]

    def replace(self, record: OrderRecord, signed: SignedOrder) -> None:
        """An amend: the record now carries ``signed``; the old hash stays known (closed)."""
        record.signed = signed
        self._index_hash(record)

    def by_id(self, order_id: OrderId) -> OrderRecord | None:
        return self._by_id.get(order_id)

    def by_hash(self, order_hash: OrderHash) -> OrderRecord | None:
        """The record that ever carried ``order_hash`` (it may be closed or amended)."""
        return self._by_hash.get(order_hash)

    def open_by_hash(self, order_hash: OrderHash) -> OrderRecord | None:
        record = self._by_hash.get(order_hash)
        if record is None or not record.is_open or record.signed.order_hash != order_hash:
            return None
        return record

    def open_orders(self) -> list[OrderRecord]:
        return [record for record in self._by_id.values() if record.is_open]

    def forget_expired(self, now_s: int) -> None:
        """Drop records whose signed expiry has passed: such an order is refused anyway."""
        heap = self._expiries
        while heap and heap[0][0] <= now_s:
            expiry, order_hash = heapq.heappop(heap)
            record = self._by_hash.get(order_hash)
            if record is None:
                continue
            if record.is_open and record.signed.order_hash == order_hash:
                # the engine removes it at the next command or tick; look again later
                heapq.heappush(heap, (expiry + _STILL_OPEN_RECHECK_S, order_hash))
                continue
            del self._by_hash[order_hash]
            if self._by_id.get(record.order_id) is record and not record.is_open:
                del self._by_id[record.order_id]

    def _index_hash(self, record: OrderRecord) -> None:
        signed = record.signed
        self._by_hash[signed.order_hash] = record
        heapq.heappush(self._expiries, (signed.order.expiry, signed.order_hash))
