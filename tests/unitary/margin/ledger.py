"""The reference model's copy of a deployed Exchange, kept by folding its events.

A :class:`Ledger` starts empty, takes deposits and withdrawals as the test makes them and
applies every ``Filled`` event with :func:`perpdex.core.margin.apply_fill` and every
``FundingPosted`` index, so after any sequence of calls its collateral, positions and fee
pool must equal the contract's views exactly. Liquidations and deleveragings are predicted
by :mod:`perpdex.core.liquidation` from the ledger's own state (a refusal raises
``Refused`` with the contract's reason) and applied; the test compares the prediction with
the emitted events. The read helpers turn the views into the model's value objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from boa.contracts.vyper.vyper_contract import VyperContract

from perpdex.core import liquidation, margin
from perpdex.core.eip712 import FeePpm, Order
from perpdex.core.liquidation import (
    Deleveraging,
    Holder,
    Liquidation,
    LiquidationTerms,
    MarketState,
    Moved,
    Refused,
)
from perpdex.core.margin import FLAT, FundingIndex, Health, MarginParams, PositionState
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


def lot_sizes(markets: VyperContract) -> dict[MarketId, Size]:
    return {market: Size(markets.market_params(market).lot_size) for market in market_ids(markets)}


def liquidation_terms(markets: VyperContract) -> dict[MarketId, LiquidationTerms]:
    return {
        market: LiquidationTerms(
            terms.fraction_ppm,
            FeePpm(terms.penalty_ppm),
            terms.liquidator_share_ppm,
            Collateral(terms.min_partial_notional),
        )
        for market in market_ids(markets)
        for terms in [markets.liquidation(market)]
    }


def funding_indexes(markets: VyperContract) -> dict[MarketId, FundingIndex]:
    return {market: FundingIndex(markets.funding(market).index) for market in market_ids(markets)}


def position_of(exchange: VyperContract, trader: Address, market: MarketId) -> PositionState:
    size, quote, isolated, isolated_margin = exchange.position(trader, market)
    snapshot = FundingIndex(exchange.funding_owed(trader, market)[0])
    return PositionState(
        Size(size), Collateral(quote), isolated, Collateral(isolated_margin), snapshot
    )


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
    """Collateral, positions, fee pool, insurance fund and funding indexes as the model
    computes them from the events. ``funding_settled`` sums every funding amount settled
    into a quote leg and ``settlements`` counts them (the rounding dust's terms)."""

    params: Mapping[MarketId, MarginParams]
    collateral: dict[Address, Collateral] = field(default_factory=dict)
    positions: dict[tuple[Address, MarketId], PositionState] = field(default_factory=dict)
    fee_pool: int = 0
    lots: Mapping[MarketId, Size] = field(default_factory=dict)
    terms: Mapping[MarketId, LiquidationTerms] = field(default_factory=dict)
    funding: dict[MarketId, FundingIndex] = field(default_factory=dict)
    insurance_fund: int = 0
    funding_settled: int = 0
    settlements: int = 0

    @classmethod
    def of(cls, markets: VyperContract) -> Ledger:
        """An empty ledger of the markets ``markets`` lists, with their current indexes."""
        return cls(
            margin_params(markets),
            lots=lot_sizes(markets),
            terms=liquidation_terms(markets),
            funding=funding_indexes(markets),
        )

    def index(self, market: MarketId) -> FundingIndex:
        return self.funding.get(market, FundingIndex(0))

    def post_funding(self, posted: Any) -> None:
        """One ``FundingPosted`` event of the Markets registry."""
        self.funding[MarketId(posted.market)] = FundingIndex(posted.index)

    def position(self, trader: Address, market: MarketId) -> PositionState:
        return self.positions.get((trader, market), FLAT)

    def cross_collateral(self, trader: Address) -> Collateral:
        return self.collateral.get(trader, Collateral(0))

    def credit(self, trader: Address, amount: int) -> None:
        """A deposit (positive) or withdrawal (negative) of cross collateral."""
        self.collateral[trader] = Collateral(self.cross_collateral(trader) + amount)

    def cross_health(self, trader: Address, prices: Mapping[MarketId, Price]) -> Health:
        positions = {market: self.position(trader, market) for market in self.params}
        return margin.cross_health(
            self.cross_collateral(trader), positions, prices, self.params, self.funding
        )

    def isolated_health(self, trader: Address, market: MarketId, price: Price) -> Health:
        position = self.position(trader, market)
        return margin.isolated_health(position, price, self.params[market], self.index(market))

    def scope_health(
        self, trader: Address, market: MarketId, prices: Mapping[MarketId, Price]
    ) -> Health:
        """The health a liquidation of ``trader``'s position in ``market`` looks at."""
        if self.position(trader, market).isolated:
            return self.isolated_health(trader, market, prices[market])
        return self.cross_health(trader, prices)

    def owed(self) -> int:
        """The funding every open position would settle now (``Exchange.funding_owed``)."""
        return sum(
            margin.unsettled_funding(position, self.index(market))
            for (_, market), position in self.positions.items()
        )

    def _settling(self, position: PositionState, market: MarketId) -> None:
        """Counts the funding a touch of ``position`` settles."""
        if position.size != 0 and position.funding != self.index(market):
            self.funding_settled += margin.unsettled_funding(position, self.index(market))
            self.settlements += 1

    def _holder(self, trader: Address, market: MarketId) -> Holder:
        other_cross = any(
            position.size != 0 and not position.isolated
            for (owner, held), position in self.positions.items()
            if owner == trader and held != market
        )
        return Holder(self.position(trader, market), self.cross_collateral(trader), other_cross)

    def _moved(self, trader: Address, market: MarketId, moved: Moved) -> None:
        self._settling(self.position(trader, market), market)
        self.positions[(trader, market)] = moved.position
        self.collateral[trader] = moved.collateral

    def liquidate(
        self, trader: Address, liquidator: Address, market: MarketId,
        prices: Mapping[MarketId, Price],
    ) -> Liquidation:  # fmt: skip
        """One step of ``Exchange.liquidate`` by ``liquidator`` at fresh ``prices``; raises
        Refused (and changes nothing) where the contract reverts."""
        if trader == liquidator:
            raise Refused(liquidation.SELF_LIQUIDATION)
        state = MarketState(prices[market], self.lots[market], self.index(market))
        step = liquidation.liquidate(
            self._holder(trader, market),
            self._holder(liquidator, market),
            self.scope_health(trader, market, prices),
            state,
            self.terms[market],
            Collateral(self.insurance_fund),
        )
        after = replace(self, collateral={**self.collateral}, positions={**self.positions})
        after._moved(trader, market, step.trader)
        after._moved(liquidator, market, step.liquidator)
        if not after.cross_health(liquidator, prices).meets_initial:
            raise Refused(liquidation.LIQUIDATOR_MARGIN)
        self._moved(trader, market, step.trader)
        self._moved(liquidator, market, step.liquidator)
        self.insurance_fund = step.insurance_fund
        return step

    def deleverage(
        self, trader: Address, market: MarketId, counterparty: Address,
        prices: Mapping[MarketId, Price],
    ) -> Deleveraging:  # fmt: skip
        """``Exchange.deleverage(trader, market, counterparty)`` at fresh ``prices``; raises
        Refused where it reverts."""
        state = MarketState(prices[market], self.lots[market], self.index(market))
        step = liquidation.deleverage(
            self._holder(trader, market),
            self._holder(counterparty, market),
            self.scope_health(trader, market, prices),
            state,
            Collateral(self.insurance_fund),
        )
        self._moved(trader, market, step.trader)
        self._moved(counterparty, market, step.counterparty)
        self.insurance_fund = step.insurance_fund
        return step

    def apply(self, filled: Any, maker: Order, taker: Order) -> None:
        """One ``Filled`` event: the maker's side, then the taker's, as ``settle`` does."""
        market = MarketId(filled.market)
        for order, fee in ((maker, filled.maker_fee), (taker, filled.taker_fee)):
            self._settling(self.position(order.trader, market), market)
            position, collateral = margin.apply_fill(
                self.position(order.trader, market),
                self.cross_collateral(order.trader),
                order.side,
                Size(filled.size),
                Price(filled.price),
                Collateral(fee),
                self.params[market].initial_margin_ppm,
                order.margin_mode,
                self.index(market),
            )
            self.positions[(order.trader, market)] = position
            self.collateral[order.trader] = collateral
        self.fee_pool += filled.maker_fee + filled.taker_fee
