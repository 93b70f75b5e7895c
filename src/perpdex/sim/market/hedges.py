"""The keeper's hedge orders and their fills, as the engine saw them (its bus): the keeper
key sends nothing else through the gateway, so every order of that account is a hedge."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from perpdex.core.types import Address, Price, Size
from perpdex.engine.commands import NewOrder
from perpdex.engine.events import Accepted, Event, Filled, Rejected


@dataclass(frozen=True, slots=True)
class HedgeFill:
    at: float
    """Monotonic clock time of the match."""
    price: Price
    size: Size


@dataclass
class HedgeTape:
    keeper: Address
    clock: Callable[[], float] = time.monotonic
    orders: int = 0
    refused: list[str] = field(default_factory=list)
    """Engine reasons of hedge orders it rejected."""
    fills: list[HedgeFill] = field(default_factory=list)

    def on_event(self, event: Event) -> None:
        """The engine bus's subscriber."""
        match event:
            case Accepted(order=order) if order.account == self.keeper:
                self.orders += 1
            case Rejected(command=NewOrder() as order) if order.account == self.keeper:
                self.refused.append(event.reason.name)
            case Filled() if event.taker_account == self.keeper:
                self.fills.append(HedgeFill(self.clock(), Price(event.price), Size(event.size)))
            case _:
                pass
