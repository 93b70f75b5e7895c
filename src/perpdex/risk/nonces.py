"""The order nonces each trader closed on chain by a cancel: the fold of ``OrderCancelled``
(``cancel_order``, ``cancel_orders``) and ``NonceFloorRaised`` (``raise_nonce_floor``).

The contract skips every fill of an order whose nonce is closed, so the gateway refuses a
new one up front and the node cancels those resting in the book. A fill that completes an
order closes its nonce too, but the engine already took that order off the book when it
filled, so those are not folded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perpdex.core.types import Address


@dataclass(slots=True)
class TraderNonces:
    floor: int = 0
    """Every nonce below it is closed (the floor raised by ``raise_nonce_floor``)."""
    closed: set[int] = field(default_factory=set)
    """Cancelled nonces at or above the floor."""

    def is_closed(self, nonce: int) -> bool:
        return nonce < self.floor or nonce in self.closed

    def why_closed(self, nonce: int) -> str | None:
        if nonce < self.floor:
            return f"nonce {nonce} is below the nonce floor {self.floor} on chain"
        if nonce in self.closed:
            return f"nonce {nonce} is cancelled on chain"
        return None


class ClosedNonces:
    def __init__(self) -> None:
        self._traders: dict[Address, TraderNonces] = {}

    def of(self, trader: Address) -> TraderNonces:
        """The trader's closed nonces (nothing closed for a trader never seen)."""
        return self._traders.get(trader) or TraderNonces()

    def is_closed(self, trader: Address, nonce: int) -> bool:
        nonces = self._traders.get(trader)
        return nonces is not None and nonces.is_closed(nonce)

    def cancel(self, trader: Address, nonce: int) -> None:
        nonces = self._traders.setdefault(trader, TraderNonces())
        if nonce >= nonces.floor:
            nonces.closed.add(nonce)

    def raise_floor(self, trader: Address, floor: int) -> None:
        nonces = self._traders.setdefault(trader, TraderNonces())
        if floor > nonces.floor:
            nonces.floor = floor
            nonces.closed = {nonce for nonce in nonces.closed if nonce >= floor}
