"""Open orders' sizes reserved against margin: what the engine accepted and has not yet
filled, cancelled or expired (the gateway's ``reserve`` and ``release``)."""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.eip712 import Order, SignedOrder
from perpdex.core.types import Address, OrderHash, Size


def reserves_margin(order: Order) -> bool:
    """Whether an open order reserves margin. A reduce-only trigger order (a stop-loss or
    take-profit attached to a position) does not: the engine sizes it to the position when
    it is released and the contract refuses a reduce-only fill that would grow one, so it
    can only shrink risk, however many of them a position has."""
    return not (order.reduce_only and order.is_trigger)


@dataclass(slots=True)
class Reservation:
    signed: SignedOrder
    open: int


class Reservations:
    def __init__(self) -> None:
        self._by_trader: dict[Address, dict[OrderHash, Reservation]] = {}

    def reserve(self, signed: SignedOrder, size: Size) -> None:
        orders = self._by_trader.setdefault(signed.order.trader, {})
        reservation = orders.get(signed.order_hash)
        if reservation is None:
            orders[signed.order_hash] = Reservation(signed, size)
        else:
            reservation.open += size

    def release(self, signed: SignedOrder, size: Size) -> None:
        orders = self._by_trader.get(signed.order.trader)
        reservation = None if orders is None else orders.get(signed.order_hash)
        if orders is None or reservation is None:
            return  # an order placed before this manager started and not adopted
        reservation.open -= size
        if reservation.open <= 0:
            del orders[signed.order_hash]
            if not orders:
                del self._by_trader[signed.order.trader]

    def of(self, trader: Address) -> list[Reservation]:
        return list(self._by_trader.get(trader, {}).values())

    def traders(self) -> set[Address]:
        return set(self._by_trader)

    def total(self) -> int:
        return sum(r.open for orders in self._by_trader.values() for r in orders.values())
