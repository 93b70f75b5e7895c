"""What the engine needs to know about a market: its grid of valid prices and sizes."""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.types import MarketId


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """Prices must be positive multiples of ``tick_size``, sizes of ``lot_size``."""

    market: MarketId
    tick_size: int = 1
    lot_size: int = 1

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"tick and lot sizes must be positive: {self}")
