"""Order state as a fold over the engine's typed events.

A subscriber of :class:`~perpdex.engine.events.EventBus` (the gateway, a test) rebuilds
every order's state from events alone: ``OrderStates().apply`` each event in order. For
every order, ``filled + cancelled + expired + remaining == size`` at all times.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.types import Address, MarketId, OrderId, Side
from perpdex.engine.events import (
    Accepted,
    Amended,
    Cancelled,
    Event,
    Expired,
    Filled,
    Triggered,
    Untriggered,
)


@dataclass(slots=True)
class OrderState:
    market: MarketId
    order_id: OrderId
    account: Address
    side: Side
    price: int
    size: int  # the accepted size, or the last amended one
    filled: int = 0
    cancelled: int = 0
    expired: int = 0
    held: bool = False  # a trigger order not yet triggered (off the book)

    @property
    def remaining(self) -> int:
        return self.size - self.filled - self.cancelled - self.expired


class OrderStates:
    def __init__(self) -> None:
        self.orders: dict[tuple[MarketId, OrderId], OrderState] = {}

    def apply(self, event: Event) -> None:
        orders = self.orders
        if isinstance(event, Accepted):
            terms = event.order
            orders[(terms.market, terms.order_id)] = OrderState(
                terms.market,
                terms.order_id,
                terms.account,
                terms.side,
                terms.price,
                terms.size,
                held=bool(terms.trigger),
            )
        elif isinstance(event, Triggered):
            orders[(event.market, event.order_id)].held = False
        elif isinstance(event, Untriggered):
            orders[(event.market, event.order_id)].held = True
        elif isinstance(event, Filled):
            orders[(event.market, event.taker_order_id)].filled += event.size
            orders[(event.market, event.maker_order_id)].filled += event.size
        elif isinstance(event, Cancelled):
            orders[(event.market, event.order_id)].cancelled += event.size
        elif isinstance(event, Expired):
            orders[(event.market, event.order_id)].expired += event.size
        elif isinstance(event, Amended):
            state = orders[(event.market, event.order_id)]
            state.price = event.price
            state.size = event.size

    def open_orders(self) -> dict[tuple[MarketId, OrderId], int]:
        """Orders with something left: (market, id) -> remaining."""
        return {key: state.remaining for key, state in self.orders.items() if state.remaining}
