"""Risk scenarios driven on the venue and on the reference :class:`Ledger` alike.

Trades are real signed orders settled by the operator, funding is posted by the keeper one
interval apart, prices move through the mock oracles; each helper folds what the contract
emitted into the ledger, so :func:`assert_model_equals_contract` can compare every view.
The ``Liquidated``, ``Deleveraged`` and ``InsuranceDrawn`` events are emitted from the
Exchange's address but declared in the ledger module, so only the Liquidations contract's
ABI knows them: :func:`exchange_events` decodes them with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from functools import cache
from typing import Any

import boa
from boa.contracts.base_evm_contract import BoaError
from boa.contracts.event_decoder import RawLogEntry
from boa.contracts.vyper.vyper_contract import decode_log
from boa.util.abi import Address as BoaAddress
from hypothesis import event
from tests.unitary.exchange.venue import LIQUIDATIONS, USDC, Actor, Venue, actor, events, match
from tests.unitary.margin.ledger import Ledger, health, mark_prices

from perpdex.chain.markets import default_markets
from perpdex.core import margin
from perpdex.core.liquidation import Deleveraging, Liquidation, Moved, Refused
from perpdex.core.types import MarginMode, MarketId, Price
from perpdex.core.units import units

TRADER, MAKER, LIQUIDATOR = actor("trader"), actor("maker"), actor("liquidator")
MARKETS = [MarketId(m) for m in range(len(default_markets()))]
RICH = 10**7 * USDC

Opening = tuple[MarketId, bool, int, MarginMode]
"""A position to open: market, buys, leverage in tenths of the deposit, margin mode."""


@cache
def _liquidation_abi() -> dict[int, Any]:
    used = LIQUIDATIONS.compiler_data.global_ctx.used_events
    return {event.event_id: event.to_toplevel_abi_dict()[0] for event in used}


def exchange_events(venue: Venue) -> list[Any]:
    """The Exchange's last call's events, the Liquidations extension's included."""
    address = BoaAddress(venue.exchange.address)
    return [
        decode_log(address, _liquidation_abi(), log) if isinstance(log, RawLogEntry) else log
        for log in venue.exchange.get_logs(strict=False)
    ]


def refresh_prices(venue: Venue) -> None:
    """Re-stamps every oracle's answer now, so no price goes stale as time passes."""
    for market, oracle in venue.oracles.items():
        with boa.env.prank(venue.admin.address):
            oracle.set_answer(oracle.latestRoundData()[1])
        assert venue.markets.price(market)[1]


def post_funding(venue: Venue, ledger: Ledger, market: MarketId, rate: int) -> Any:
    """One interval later, the keeper posts ``rate``; returns the ``FundingPosted`` event,
    folded into ``ledger``."""
    boa.env.time_travel(seconds=venue.markets.funding(market).interval)
    refresh_prices(venue)
    with boa.env.prank(venue.keeper.address):
        venue.markets.post_funding(market, rate)
    (posted,) = events(list(venue.markets.get_logs()), "FundingPosted")
    ledger.post_funding(posted)
    return posted


def trade(
    venue: Venue, ledger: Ledger, maker: Actor, taker: Actor, market: MarketId,
    taker_buys: bool, size: int, price: int, mode: MarginMode = MarginMode.CROSS,
) -> bool:  # fmt: skip
    """``taker`` takes ``maker``'s resting order in ``market`` (the maker trades cross);
    returns whether the batch passed its margin check (it changes nothing otherwise)."""
    resting = venue.order(maker, is_buy=not taker_buys, size=size, price=price, market=market)
    taking = venue.order(
        taker, is_buy=taker_buys, size=size, price=price, market=market, margin_mode=mode
    )
    try:
        logs = venue.settle(match(resting, taking))
    except BoaError:
        return False
    for filled in events(logs, "Filled"):
        ledger.apply(filled, resting.order, taking.order)
    return bool(events(logs, "Filled"))


def fund_insurance(venue: Venue, ledger: Ledger, amount: int) -> None:
    """The maker adds ``amount`` to the insurance fund."""
    venue.usdc.faucet(MAKER.address, amount)
    with boa.env.prank(MAKER.address):
        venue.usdc.approve(venue.exchange.address, amount)
        venue.exchange.fund_insurance(amount)
    ledger.insurance_fund += amount


def open_positions(
    venue: Venue, ledger: Ledger, who: Actor, deposit: int, positions: Iterable[Opening]
) -> None:
    """``who`` deposits ``deposit`` and opens ``positions`` against the maker at the index
    price, sized by leverage on the deposit (those the margin check refuses are skipped)."""
    venue.fund(who, deposit)
    ledger.credit(who.address, deposit)
    for market, buys, leverage, mode in positions:
        spec = default_markets()[market]
        held = ledger.position(who.address, market)
        if held.size:  # an order in the other margin mode would be rejected
            mode = MarginMode.ISOLATED if held.isolated else MarginMode.CROSS
        price = venue.markets.price(market)[0] // spec.tick_size * spec.tick_size
        lot_notional = spec.lot_size * price // units().size_scale
        lots = max(deposit * leverage // 10 // lot_notional, 1)
        trade(venue, ledger, MAKER, who, market, buys, lots * spec.lot_size, price, mode)


def open_trader(
    venue: Venue, ledger: Ledger, deposit: int, fund: int, positions: Iterable[Opening]
) -> None:
    """The scenario's start: a rich liquidator and maker, ``fund`` in the insurance fund,
    and the trader's ``positions`` on ``deposit``."""
    open_positions(venue, ledger, LIQUIDATOR, RICH, [])
    open_positions(venue, ledger, MAKER, RICH, [])
    if fund:
        fund_insurance(venue, ledger, fund)
    open_positions(venue, ledger, TRADER, deposit, positions)


def move_against(venue: Venue, opening: Opening, equity_left: int, other_move: int) -> None:
    """``opening``'s market moves against it until about ``equity_left`` tenths of a
    percent of its notional are left of its equity (its inverse leverage at the start),
    the other markets by ``other_move`` tenths of a percent."""
    first, buys, leverage, _ = opening
    against = 10_000 // leverage - equity_left  # tenths of a percent: leverage is in tenths
    for market in MARKETS:
        tenths = (-against if buys else against) if market == first else other_move
        # a low leverage long cannot lose its equity to a fall: a tenth of the price stays
        venue.set_price(
            market, Price(venue.markets.price(market)[0] * max(1_000 + tenths, 100) // 1_000)
        )


def _funding_settled(logs: list[Any], *sides: Moved) -> None:
    expected = [side.funding for side in sides if side.funding_logged]
    assert [e.amount for e in events(logs, "FundingSettled")] == expected


def liquidate_step(
    venue: Venue, ledger: Ledger, trader: Actor, market: MarketId, liquidator: Actor
) -> Liquidation | None:
    """One liquidation attempt, predicted by the model from the ledger alone: a refusal
    must revert with the model's reason, a step must emit what the model computed."""
    prices = mark_prices(venue.markets)
    try:
        predicted = ledger.liquidate(trader.address, liquidator.address, market, prices)
    except Refused as refused:
        event(f"liquidate refused: {refused.reason}")
        with boa.env.prank(liquidator.address), boa.reverts(refused.reason):
            venue.exchange.liquidate(trader.address, market)
        return None
    event("full step" if predicted.full else "partial step")
    with boa.env.prank(liquidator.address):
        assert venue.exchange.liquidate(trader.address, market) == predicted.step
    logs = exchange_events(venue)
    (liquidated,) = events(logs, "Liquidated")
    assert (liquidated.trader, liquidated.liquidator, liquidated.market) == (
        trader.address, liquidator.address, market,
    )  # fmt: skip
    assert (liquidated.size, liquidated.price) == (predicted.delta, prices[market])
    assert (liquidated.penalty, liquidated.reward) == (predicted.penalty, predicted.reward)
    assert liquidated.full == predicted.full
    drawn = [(e.trader, e.amount) for e in events(logs, "InsuranceDrawn")]
    deficit = predicted.trader.deficit
    assert drawn == ([(trader.address, deficit)] if deficit else [])
    _funding_settled(logs, predicted.trader, predicted.liquidator)
    return predicted


def deleverage_step(
    venue: Venue, ledger: Ledger, trader: Actor, market: MarketId, counterparty: Actor
) -> Deleveraging | None:
    """One deleveraging attempt (by the liquidator, anyone may), predicted by the model."""
    prices = mark_prices(venue.markets)
    call = (trader.address, market, counterparty.address)
    try:
        predicted = ledger.deleverage(*call, prices)
    except Refused as refused:
        event(f"deleverage refused: {refused.reason}")
        with boa.env.prank(LIQUIDATOR.address), boa.reverts(refused.reason):
            venue.exchange.deleverage(*call)
        return None
    event("deleveraged")
    with boa.env.prank(LIQUIDATOR.address):
        assert venue.exchange.deleverage(*call) == predicted.amount
    logs = exchange_events(venue)
    (deleveraged,) = events(logs, "Deleveraged")
    assert (deleveraged.trader, deleveraged.market, deleveraged.counterparty) == call
    assert (deleveraged.size, deleveraged.price) == (predicted.delta, prices[market])
    assert deleveraged.loss == predicted.loss
    drawn = [(e.trader, e.amount) for e in events(logs, "InsuranceDrawn")]
    sides = ((trader, predicted.trader), (counterparty, predicted.counterparty))
    assert drawn == [(who.address, moved.deficit) for who, moved in sides if moved.deficit]
    _funding_settled(logs, predicted.trader, predicted.counterparty)
    return predicted


def set_price_percent(venue: Venue, market: MarketId, percent: int) -> None:
    """Moves ``market``'s oracle to ``percent`` of its current price."""
    venue.set_price(market, Price(venue.markets.price(market)[0] * percent // 100))


def assert_model_equals_contract(venue: Venue, ledger: Ledger, actors: Iterable[Actor]) -> None:
    """Every view of every actor, the insurance fund and the fee pool equal the ledger's."""
    exchange, markets = venue.exchange, venue.markets
    prices = mark_prices(markets)
    assert ledger.insurance_fund == exchange.insurance_fund()
    assert ledger.fee_pool == exchange.fee_pool()
    for market in prices:
        assert ledger.index(market) == markets.funding(market).index
    for who in actors:
        trader = who.address
        assert ledger.cross_collateral(trader) == exchange.account(trader)[0]
        assert ledger.cross_health(trader, prices) == health(exchange.cross_health(trader))
        for market in prices:
            position = ledger.position(trader, market)
            size, quote, isolated, isolated_margin = exchange.position(trader, market)
            snapshot, owed = exchange.funding_owed(trader, market)
            viewed = (size, quote, isolated, isolated_margin, snapshot)
            assert viewed == dataclasses.astuple(position)
            assert owed == margin.unsettled_funding(position, ledger.index(market))
            isolated_health = ledger.isolated_health(trader, market, prices[market])
            assert isolated_health == health(exchange.isolated_health(trader, market))
