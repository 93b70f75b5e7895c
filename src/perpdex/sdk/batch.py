"""Orders placed many at a time: what one order of a batch says, and how a batch is cut
into frames the gateway takes (at most ``MAX_BATCH`` requests and ``MAX_FRAME`` bytes each).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from perpdex.core.types import MarginMode, Side, TimeInForce, TriggerDirection
from perpdex.gateway.protocol import MAX_BATCH, PlaceRequest
from perpdex.gateway.service import MAX_FRAME
from perpdex.sdk.amounts import DecimalLike

DEFAULT_ORDER_TTL_S: Final = 86_400
"""An order's signed expiry, from now, unless given."""


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """One limit order, in the terms of :meth:`perpdex.sdk.client.Client.place` (a market
    order is an IOC whose ``price`` is the worst price accepted; with ``trigger_price`` and
    ``trigger`` (``"above"``, ``"below"``) a trigger order, :mod:`perpdex.sdk.triggers`)."""

    market: str
    side: Side | str
    size: DecimalLike
    price: DecimalLike
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    margin_mode: MarginMode | None = None
    """None: cross, or for a reduce-only order the mode of the position it reduces."""
    ttl_s: int = DEFAULT_ORDER_TTL_S
    max_fee_ppm: int | None = None
    client_id: str | None = None
    trigger_price: DecimalLike | None = None
    trigger: TriggerDirection | str | None = None


def frames(requests: Sequence[PlaceRequest], max_frame: int = MAX_FRAME) -> Iterator[range]:
    """The index ranges of ``requests`` sent together: consecutive, each at most
    ``MAX_BATCH`` requests whose JSON array fits in ``max_frame`` bytes."""
    start, size = 0, 2  # the brackets
    for i, request in enumerate(requests):
        length = len(msgspec.json.encode(request)) + 1  # and its comma
        if i > start and (i - start == MAX_BATCH or size + length > max_frame):
            yield range(start, i)
            start, size = i, 2
        size += length
    if start < len(requests):
        yield range(start, len(requests))
