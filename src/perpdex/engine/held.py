"""Trigger orders held off the book until the index price crosses their trigger.

A held order is invisible to matching and to book depth. It is held with its open size:
the whole of it until it is first released, what is left of it when an index price
that no longer crosses its trigger takes it off the book again. Two sorted lists give the orders
an index price releases, in release order: ``AT_OR_BELOW`` orders by trigger price high
to low, ``AT_OR_ABOVE`` orders low to high (nearest the previous index first: a falling
index crosses the highest stop first), ties by order id (the order they were placed in).
"""

from __future__ import annotations

from collections.abc import Iterator

from sortedcontainers import SortedList

from perpdex.core.types import Address, ClientOrderId, OrderId, TriggerDirection
from perpdex.engine.commands import NewOrder

_ABOVE = TriggerDirection.AT_OR_ABOVE


def crossed(order: NewOrder, index: int) -> bool:
    """Whether ``index`` (0: none known yet) satisfies ``order``'s trigger."""
    if not index:
        return False
    if order.trigger is _ABOVE:
        return index >= order.trigger_price
    return index <= order.trigger_price


class HeldOrders:
    """One market's held trigger orders, indexed by id, account and client id."""

    __slots__ = ("_above", "_below", "_by_account", "_by_client_id", "open", "orders")

    def __init__(self) -> None:
        self.orders: dict[OrderId, NewOrder] = {}
        self.open: dict[OrderId, int] = {}  # the open size of each
        self._by_account: dict[Address, set[OrderId]] = {}
        self._by_client_id: dict[tuple[Address, ClientOrderId], OrderId] = {}
        self._above: SortedList = SortedList()  # (trigger price, order id)
        self._below: SortedList = SortedList()  # (-trigger price, order id)

    def __len__(self) -> int:
        return len(self.orders)

    def add(self, order: NewOrder, size: int) -> None:
        order_id = order.order_id
        self.orders[order_id] = order
        self.open[order_id] = size
        self._by_account.setdefault(order.account, set()).add(order_id)
        if order.client_id is not None:
            self._by_client_id[(order.account, order.client_id)] = order_id
        self._sorted(order).add(self._key(order))

    def remove(self, order_id: OrderId) -> tuple[NewOrder, int]:
        """The order and its open size, no longer held."""
        order = self.orders.pop(order_id)
        size = self.open.pop(order_id)
        mine = self._by_account[order.account]
        mine.discard(order_id)
        if not mine:
            del self._by_account[order.account]
        if order.client_id is not None:
            del self._by_client_id[(order.account, order.client_id)]
        self._sorted(order).remove(self._key(order))
        return order, size

    def by_client_id(self, account: Address, client_id: ClientOrderId) -> OrderId | None:
        return self._by_client_id.get((account, client_id))

    def ids_of(self, account: Address) -> set[OrderId]:
        return self._by_account.get(account, set())

    def crossed_by(self, index: int) -> list[NewOrder]:
        """The orders ``index`` releases, in release order (see the module's docstring);
        both directions only when no earlier index was known: then by order id."""
        orders = self.orders
        below = []
        for key in self._below:
            if -key[0] < index:
                break
            below.append(orders[key[1]])
        above = []
        for key in self._above:
            if key[0] > index:
                break
            above.append(orders[key[1]])
        if below and above:
            return sorted(below + above, key=lambda order: order.order_id)
        return below or above

    def in_id_order(self) -> Iterator[NewOrder]:
        for order_id in sorted(self.orders):
            yield self.orders[order_id]

    def _sorted(self, order: NewOrder) -> SortedList:
        return self._above if order.trigger is _ABOVE else self._below

    @staticmethod
    def _key(order: NewOrder) -> tuple[int, int]:
        price = order.trigger_price
        return (price if order.trigger is _ABOVE else -price, order.order_id)
