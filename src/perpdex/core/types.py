"""Typed domain values shared by every service.

Bare ``int``/``str`` never cross a service boundary: a market id, an order hash or a side
is always one of these types, so a size cannot be passed where a price is expected.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import NewType

MarketId = NewType("MarketId", int)
"""Index of a market in the Exchange contract's registry (0-based, < MAX_MARKETS)."""

ShardId = NewType("ShardId", int)
"""An engine shard: the markets are split over shards 0..N-1, each with its own journal and
its own on-chain checkpoint log (a ``uint16`` in receipts and ``Checkpoints``); the embedded
node's one engine is shard 0 (:data:`EMBEDDED_SHARD`)."""

EMBEDDED_SHARD = ShardId(0)
"""The shard of the embedded node's single engine (``perpdex up``)."""

OrderId = NewType("OrderId", int)
"""Engine-local id of an order (the benchmark workload's ``id``; a sequence number otherwise)."""

ClientOrderId = NewType("ClientOrderId", str)
"""Trader-chosen id, unique per trader among live orders."""

Address = NewType("Address", str)
"""A checksummed 0x-prefixed 20-byte EVM address."""

OrderHash = NewType("OrderHash", bytes)
"""The 32-byte EIP-712 digest of a signed order."""

Price = NewType("Price", int)
"""Collateral units per one whole base unit (see ``perpdex.core.units``)."""

Size = NewType("Size", int)
"""Base units at ``SIZE_DECIMALS``; always positive in orders, signed in positions."""

Collateral = NewType("Collateral", int)
"""Collateral token units (6 decimals for USDC)."""


class Side(IntEnum):
    """Order side; the value is the sign of the position change it causes."""

    BUY = 1
    SELL = -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def is_buy(self) -> bool:
        return self is Side.BUY


class TimeInForce(Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "POST_ONLY"


class MarginMode(IntEnum):
    """Signed into every order: which collateral backs the position it opens."""

    CROSS = 0
    ISOLATED = 1


class TriggerDirection(IntEnum):
    """Signed into every order: when a trigger order may fill (the value is its uint8 code).

    ``NONE`` is a plain order. A trigger order fills only once the market's oracle (index)
    price is at or above, or at or below, its signed trigger price: a stop-loss of a long
    is a sell ``AT_OR_BELOW``, its take-profit a sell ``AT_OR_ABOVE``.
    """

    NONE = 0
    AT_OR_ABOVE = 1
    AT_OR_BELOW = 2
