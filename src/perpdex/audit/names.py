"""How the audit names an order: the EIP-712 hash of its signed order (what the chain and
the trader know it by), or its engine id when it carries no signed order (a benchmark's)."""

from __future__ import annotations

from perpdex.core.eip712 import Eip712Domain
from perpdex.settlement.payload import order_hash_of_payload


class OrderNames:
    def __init__(self, domain: Eip712Domain | None) -> None:
        self._domain = domain
        self._hashes: dict[bytes, str | None] = {}

    def hash_of(self, payload: bytes) -> str | None:
        """0x-hex of the signed order in ``payload``; None if there is none."""
        if self._domain is None or not payload:
            return None
        if payload in self._hashes:
            return self._hashes[payload]
        try:
            found: str | None = "0x" + order_hash_of_payload(payload, self._domain).hex()
        except (ValueError, KeyError):
            found = None
        self._hashes[payload] = found
        return found

    def name(self, order_id: int, payload: bytes) -> str:
        order_hash = self.hash_of(payload)
        return f"order #{order_id}" if order_hash is None else f"order #{order_id} ({order_hash})"
