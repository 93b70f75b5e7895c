"""``liquidation_price`` against the compiled contract: at the price it computes
``liquidate`` accepts the position, one tick better it refuses (cross and isolated, long
and short)."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import USDC, Actor, Venue, match
from tests.unitary.liquidations.crash import TENTH_BTC

from perpdex.chain.markets import default_markets
from perpdex.core import margin
from perpdex.core.liquidation import liquidation_price
from perpdex.core.margin import Health, MarginParams, MarginPpm, PositionState
from perpdex.core.types import Collateral, MarginMode, MarketId, Price, Size

BTC = MarketId(0)


def open_position(
    venue: Venue, trader: Actor, maker: Actor, liquidator: Actor, *, is_buy: bool, mode: MarginMode
) -> None:
    """``trader`` trades 0.1 BTC at the index on 700 USDC against a well-funded maker."""
    venue.fund(trader, 700 * USDC)
    venue.fund(maker, 100_000 * USDC)
    venue.fund(liquidator, 100_000 * USDC)
    index = default_markets()[BTC].index_price
    resting = venue.order(maker, is_buy=not is_buy, size=TENTH_BTC, price=index)
    taking = venue.order(trader, is_buy=is_buy, size=TENTH_BTC, price=index, margin_mode=mode)
    venue.settle(match(resting, taking))


def model_liquidation_price(venue: Venue, trader: Actor) -> Price | None:
    """The model's price from what the contract holds, as a client reads it."""
    size, quote, isolated, isolated_margin = venue.position(trader)
    position = PositionState(Size(size), Collateral(quote), isolated, Collateral(isolated_margin))
    params = venue.markets.market_params(BTC)
    fractions = MarginParams(
        MarginPpm(params.initial_margin_ppm), MarginPpm(params.maintenance_margin_ppm)
    )
    collateral = Collateral(venue.collateral(trader))

    def health_at(price: Price) -> Health:
        if isolated:
            return margin.isolated_health(position, price, fractions)
        return margin.cross_health(collateral, {BTC: position}, {BTC: price}, {BTC: fractions})

    return liquidation_price(health_at, Size(size), Price(params.tick_size))


@pytest.mark.parametrize("mode", [MarginMode.CROSS, MarginMode.ISOLATED])
@pytest.mark.parametrize("is_buy", [True, False], ids=["long", "short"])
def test_liquidatable_at_the_price_and_not_one_tick_better(
    venue: Venue,
    trader: Actor,
    maker: Actor,
    liquidator: Actor,
    is_buy: bool,
    mode: MarginMode,
) -> None:
    open_position(venue, trader, maker, liquidator, is_buy=is_buy, mode=mode)
    price = model_liquidation_price(venue, trader)
    assert price is not None
    tick = venue.markets.market_params(BTC).tick_size
    better = Price(price + tick if is_buy else price - tick)

    def health() -> tuple[int, int]:
        if mode is MarginMode.ISOLATED:
            found = venue.exchange.isolated_health(trader.address, BTC)
        else:
            found = venue.exchange.cross_health(trader.address)
        return found.equity, found.maintenance

    with boa.env.anchor():
        venue.set_price(BTC, better)
        equity, maintenance = health()
        assert equity >= maintenance
        with boa.reverts("exchange: account above maintenance"):
            venue.liquidate(liquidator, trader)
    venue.set_price(BTC, price)
    equity, maintenance = health()
    assert equity < maintenance
    venue.liquidate(liquidator, trader)  # the contract takes the step
    assert abs(venue.position(trader)[0]) < TENTH_BTC


def test_a_long_backed_beyond_its_notional_has_none(
    venue: Venue, trader: Actor, maker: Actor, liquidator: Actor
) -> None:
    open_position(venue, trader, maker, liquidator, is_buy=True, mode=MarginMode.CROSS)
    venue.fund(trader, 20_000 * USDC)  # 0.1 BTC at 100k is 10k notional
    assert model_liquidation_price(venue, trader) is None
