"""Risk scenarios driven on the venue and on the reference :class:`Ledger` alike.

Trades are real signed orders settled by the operator, funding is posted by the keeper one
interval apart, prices move through the mock oracles; each helper folds what the contract
emitted into the ledger, so :func:`assert_model_equals_contract` can compare every view.
The ``Liquidated``, ``Deleveraged`` and ``InsuranceDrawn`` events are emitted from the
Exchange's address but declared in the ledger module, so only the Liquidations contract's
ABI knows them: :func:`exchange_events` decodes them with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import boa
from boa.contracts.base_evm_contract import BoaError
from boa.contracts.event_decoder import RawLogEntry
from boa.contracts.vyper.vyper_contract import decode_log
from boa.util.abi import Address as BoaAddress
from tests.unitary.exchange.venue import LIQUIDATIONS, Actor, Venue, events, match
from tests.unitary.margin.ledger import (
    Ledger,
    health,
    mark_prices,
    market_ids,
    position_of,
)

from perpdex.core import margin
from perpdex.core.types import MarginMode, MarketId, Price


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


def set_price_percent(venue: Venue, market: MarketId, percent: int) -> None:
    """Moves ``market``'s oracle to ``percent`` of its current price."""
    venue.set_price(market, Price(venue.markets.price(market)[0] * percent // 100))


def assert_model_equals_contract(venue: Venue, ledger: Ledger, actors: Iterable[Actor]) -> None:
    """Every view of every actor, the insurance fund and the fee pool equal the ledger's."""
    exchange, markets = venue.exchange, venue.markets
    prices = mark_prices(markets)
    assert ledger.insurance_fund == exchange.insurance_fund()
    assert ledger.fee_pool == exchange.fee_pool()
    for market in market_ids(markets):
        assert ledger.index(market) == markets.funding(market).index
    for who in actors:
        trader = who.address
        assert ledger.cross_collateral(trader) == exchange.account(trader)[0]
        assert ledger.cross_health(trader, prices) == health(exchange.cross_health(trader))
        for market in market_ids(markets):
            position = ledger.position(trader, market)
            assert position == position_of(exchange, trader, market)
            owed = margin.unsettled_funding(position, ledger.index(market))
            assert exchange.funding_owed(trader, market)[1] == owed
            isolated = ledger.isolated_health(trader, market, prices[market])
            assert isolated == health(exchange.isolated_health(trader, market))
