"""The reference model's copy of a deployed Exchange, kept by folding its events.

A :class:`Ledger` starts empty, takes deposits and withdrawals as the test makes them and
applies every ``Filled`` event with :func:`perpdex.core.margin.apply_fill`, so after any
sequence of calls its collateral, positions and fee pool must equal the contract's views
exactly. The read helpers turn those views into the model's value objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from boa.contracts.vyper.vyper_contract import VyperContract

from perpdex.core import margin
from perpdex.core.eip712 import Order
from perpdex.core.margin import FLAT, Health, MarginParams, PositionState
from perpdex.core.types import Address, Collateral, MarketId, Price, Size


def market_ids(markets: VyperContract) -> list[MarketId]:
    return [MarketId(m) for m in range(markets.market_count())]


def margin_params(markets: VyperContract) -> dict[MarketId, MarginParams]:
    return {
        market: MarginParams(params.initial_margin_ppm, params.maintenance_margin_ppm)
        for market in market_ids(markets)
        for params in [markets.market_params(market)]
    }


def mark_prices(markets: VyperContract) -> dict[MarketId, Price]:
    return {market: Price(markets.price(market)[0]) for market in market_ids(markets)}


def position_of(exchange: VyperContract, trader: Address, market: MarketId) -> PositionState:
    size, quote, isolated, isolated_margin = exchange.position(trader, market)
    return PositionState(Size(size), Collateral(quote), isolated, Collateral(isolated_margin))


def positions_of(
    exchange: VyperContract, markets: VyperContract, trader: Address
) -> dict[MarketId, PositionState]:
    return {market: position_of(exchange, trader, market) for market in market_ids(markets)}


def health(struct: Any) -> Health:
    """The model's Health of an ``Exchange.Health`` struct returned by a view."""
    return Health(
        Collateral(struct.equity), Collateral(struct.initial), Collateral(struct.maintenance)
    )


@dataclass
class Ledger:
    """Collateral, positions and fee pool as the model computes them from the events."""

    params: Mapping[MarketId, MarginParams]
    collateral: dict[Address, Collateral] = field(default_factory=dict)
    positions: dict[tuple[Address, MarketId], PositionState] = field(default_factory=dict)
    fee_pool: int = 0

    def position(self, trader: Address, market: MarketId) -> PositionState:
        return self.positions.get((trader, market), FLAT)

    def cross_collateral(self, trader: Address) -> Collateral:
        return self.collateral.get(trader, Collateral(0))

    def credit(self, trader: Address, amount: int) -> None:
        """A deposit (positive) or withdrawal (negative) of cross collateral."""
        self.collateral[trader] = Collateral(self.cross_collateral(trader) + amount)

    def cross_health(self, trader: Address, prices: Mapping[MarketId, Price]) -> Health:
        positions = {market: self.position(trader, market) for market in self.params}
        return margin.cross_health(self.cross_collateral(trader), positions, prices, self.params)

    def apply(self, filled: Any, maker: Order, taker: Order) -> None:
        """One ``Filled`` event: the maker's side, then the taker's, as ``settle`` does."""
        market = MarketId(filled.market)
        for order, fee in ((maker, filled.maker_fee), (taker, filled.taker_fee)):
            position, collateral = margin.apply_fill(
                self.position(order.trader, market),
                self.cross_collateral(order.trader),
                order.side,
                Size(filled.size),
                Price(filled.price),
                Collateral(fee),
                self.params[market].initial_margin_ppm,
                order.margin_mode,
            )
            self.positions[(order.trader, market)] = position
            self.collateral[order.trader] = collateral
        self.fee_pool += filled.maker_fee + filled.taker_fee
