"""The gateway's record of the orders it placed: by engine id, by hash, and by client id.

Every nonce of an order the engine accepted stays known (:class:`UsedNonces`, a few runs per
trader), which is what refuses a replayed order (the engine would take it again under a new
id, and the contract would let it fill up to its signed size a second time). A record keeps
the original ack, so a retry of the same order with the same client order id gets that ack
again (idempotent), for ``RETRY_WINDOW_S`` after it was placed; then a closed record is
forgotten, so the records held are the open orders and the last minute's, never history.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from perpdex.core.eip712 import SignedOrder
from perpdex.core.types import ClientOrderId, MarketId, OrderHash, OrderId
from perpdex.gateway.nonces import UsedNonces
from perpdex.gateway.session import Session

RETRY_WINDOW_S = 60
"""How long a closed order's record (and its ack) is kept: longer than a client's request
timeout and reconnect delays (``sdk/client.py``), so its retries get the original ack."""


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
    receipt: bytes = b""  # its encoded ``receipt`` frame, once signed: sent with the ack again

    @property
    def is_open(self) -> bool:
        return self.remaining > 0


class OrderRegistry:
    def __init__(self) -> None:
        self._by_id: dict[OrderId, OrderRecord] = {}
        self._by_hash: dict[OrderHash, OrderRecord] = {}
        self.nonces = UsedNonces()
        self._placed: list[OrderRecord] = []  # since the last forget_closed
        self._kept: deque[tuple[int, OrderRecord]] = deque()  # (look again at s, record)

    def add(self, record: OrderRecord) -> None:
        self._by_id[record.order_id] = record
        self._index(record)
        self._placed.append(record)

    def remember(self, signed: SignedOrder) -> None:
        """An order the engine accepted before a restart: its nonce is refused as a replay."""
        self.nonces.add(signed.order.trader, signed.order.nonce)

    def discard(self, record: OrderRecord) -> None:
        """Forget an order the engine refused: its hash and nonce may be placed again."""
        del self._by_id[record.order_id]
        del self._by_hash[record.signed.order_hash]
        self.nonces.remove(record.signed.order.trader, record.signed.order.nonce)

    def replace(self, record: OrderRecord, signed: SignedOrder) -> None:
        """An amend: the record now carries ``signed``; the old order's nonce stays used."""
        self._by_hash.pop(record.signed.order_hash, None)
        record.signed = signed
        self._index(record)

    def used(self, signed: SignedOrder) -> bool:
        """Whether an accepted order had ``signed``'s nonce (a replay, or a nonce reused)."""
        return (signed.order.trader, signed.order.nonce) in self.nonces

    def by_id(self, order_id: OrderId) -> OrderRecord | None:
        return self._by_id.get(order_id)

    def by_hash(self, order_hash: OrderHash) -> OrderRecord | None:
        """The record carrying ``order_hash``: open, or closed within the retry window."""
        return self._by_hash.get(order_hash)

    def open_by_hash(self, order_hash: OrderHash) -> OrderRecord | None:
        record = self._by_hash.get(order_hash)
        if record is None or not record.is_open or record.signed.order_hash != order_hash:
            return None
        return record

    def open_orders(self) -> list[OrderRecord]:
        return [record for record in self._by_id.values() if record.is_open]

    def __len__(self) -> int:
        """Records held: open orders and those placed within the retry window."""
        return len(self._by_id)

    def forget_closed(self, now_s: int) -> None:
        """Drop the records of orders closed (filled, cancelled, expired) and placed over
        ``RETRY_WINDOW_S`` ago; an open one is looked at again a window later. Their replays
        are still refused, by nonce."""
        kept = self._kept
        kept.extend((now_s + RETRY_WINDOW_S, record) for record in self._placed)
        self._placed.clear()
        while kept and kept[0][0] <= now_s:
            _, record = kept.popleft()
            if self._by_id.get(record.order_id) is not record:
                continue  # discarded
            if record.is_open:
                kept.append((now_s + RETRY_WINDOW_S, record))
                continue
            del self._by_id[record.order_id]
            del self._by_hash[record.signed.order_hash]

    def _index(self, record: OrderRecord) -> None:
        signed = record.signed
        self._by_hash[signed.order_hash] = record
        self.nonces.add(signed.order.trader, signed.order.nonce)
