"""Margin of an account at given prices, and fills applied to a copy of it, with the
contract's integer model (:mod:`perpdex.core.margin`).

``margin.cross_health`` and ``margin.isolated_health`` value positions without funding;
the contract adds each position's unsettled funding to equity on top
(``ledger._add_position``), which is additive, so it is added here the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from perpdex.core import margin
from perpdex.core.eip712 import FeePpm
from perpdex.core.margin import FLAT, Health, PositionState
from perpdex.core.types import Collateral, MarginMode, MarketId, Price, Side, Size
from perpdex.risk.ledger import Account, MarketState


def unsettled_funding(
    account: Account, market: MarketId, markets: Mapping[MarketId, MarketState]
) -> int:
    """What ``market``'s position would settle now (> 0 received): ``Exchange.funding_owed``."""
    position = account.positions[market]
    snapshot = account.funding.get(market, 0)
    index = markets[market].funding_index
    if position.size == 0 or snapshot == index:
        return 0
    return margin.funding_payment(position.size, index - snapshot)


def cross_health(
    account: Account, prices: Mapping[MarketId, Price], markets: Mapping[MarketId, MarketState]
) -> Health:
    """``Exchange.cross_health``: the cross account with its unsettled funding."""
    params = {m: markets[m].params for m in account.positions}
    health = margin.cross_health(account.collateral, account.positions, prices, params)
    funding = sum(
        unsettled_funding(account, m, markets)
        for m, p in account.positions.items()
        if not p.isolated and p.size != 0
    )
    return Health(Collateral(health.equity + funding), health.initial, health.maintenance)


def isolated_health(
    account: Account,
    market: MarketId,
    prices: Mapping[MarketId, Price],
    markets: Mapping[MarketId, MarketState],
) -> Health:
    """``Exchange.isolated_health``: the position backed by its own margin only."""
    position = account.positions.get(market, FLAT)
    health = margin.isolated_health(position, prices[market], markets[market].params)
    if position == FLAT:
        return health
    funding = unsettled_funding(account, market, markets)
    return Health(Collateral(health.equity + funding), health.initial, health.maintenance)


def fill(
    account: Account,
    market: MarketId,
    state: MarketState,
    side: Side,
    size: Size,
    price: Price,
    fee_ppm: int,
    mode: MarginMode,
) -> None:
    """Apply one side of a fill to ``account`` in place, as ``Exchange._fill_side`` would
    now: funding settled first, then the trade, the position snapshotting the index."""
    position = account.positions.get(market, FLAT)
    if position.size != 0 and account.funding.get(market, 0) != state.funding_index:
        owed = margin.funding_payment(
            position.size, state.funding_index - account.funding.get(market, 0)
        )
        position = PositionState(
            position.size,
            Collateral(position.quote + owed),
            position.isolated,
            position.isolated_margin,
        )
    fee = margin.fee(margin.notional(size, price), FeePpm(fee_ppm))
    position, account.collateral = margin.apply_fill(
        position,
        account.collateral,
        side,
        size,
        price,
        fee,
        state.params.initial_margin_ppm,
        mode,
    )
    account.set_position(market, position, state.funding_index)
