"""Each open position's figures for the trader: mark, PnL against the entry (fees apart),
the margin of its scope and its liquidation price, with the contract's integers.

The scope of a cross position is the cross account, that of an isolated position the
position and its own margin (``Exchange.cross_health`` / ``isolated_health``); its
liquidation price moves the position's market alone, the other prices held
(:func:`perpdex.core.liquidation.liquidation_price`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

from perpdex.core.liquidation import liquidation_price
from perpdex.core.margin import Health
from perpdex.core.types import Collateral, MarketId, Price, Size
from perpdex.core.units import units
from perpdex.gateway.risk import PositionFigures
from perpdex.risk import health
from perpdex.risk.ledger import Account, MarketState


def position_figures(
    account: Account,
    prices: Mapping[MarketId, Price],
    markets: Mapping[MarketId, MarketState],
    ticks: Mapping[MarketId, Price],
    leverage: Mapping[MarketId, Decimal],
) -> list[PositionFigures]:
    """One entry per open position of ``account``, by market; ``leverage``: the trader's
    setting per market (each market's maximum included)."""
    return [
        _figures(account, market, prices, markets, ticks, leverage[market])
        for market, position in sorted(account.positions.items())
        if position.size != 0 and market in markets
    ]


def _figures(
    account: Account,
    market: MarketId,
    prices: Mapping[MarketId, Price],
    markets: Mapping[MarketId, MarketState],
    ticks: Mapping[MarketId, Price],
    leverage: Decimal,
) -> PositionFigures:
    position = account.positions[market]
    entry = account.entries.get(market)
    mark = prices.get(market)
    scope: Health | None = None
    liquidation: Price | None = None
    pnl: Collateral | None = None
    if mark is not None and all(m in prices for m in account.positions):

        def health_at(price: Price) -> Health:
            moved = {**prices, market: price}
            if position.isolated:
                return health.isolated_health(account, market, moved, markets)
            return health.cross_health(account, moved, markets)

        scope = health_at(mark)
        liquidation = liquidation_price(health_at, position.size, ticks.get(market, Price(1)))
        if entry is not None:
            pnl = Collateral(math.floor(position.size * (mark - entry.price) / units().size_scale))
    return PositionFigures(
        market=market,
        size=Size(position.size),
        isolated=position.isolated,
        isolated_margin=position.isolated_margin,
        entry_price=None if entry is None else entry.price,
        fees_paid=None if entry is None else entry.fees,
        mark_price=mark,
        unrealised_pnl=pnl,
        scope_equity=None if scope is None else scope.equity,
        scope_maintenance=None if scope is None else scope.maintenance,
        liquidation_price=liquidation,
        leverage=leverage,
    )
