"""Funding on the Exchange: positions settle against the index when touched, and health
counts what is owed before that."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, events, match

from perpdex.core.types import MarketId

TENTH_BTC = 10_000_000


def post_funding(venue: Venue, rate: int) -> int:
    boa.env.time_travel(seconds=venue.markets.funding(0).interval)
    venue.set_price(MarketId(0), BTC.index_price)  # the feed's heartbeat
    with boa.env.prank(venue.keeper.address):
        venue.markets.post_funding(0, rate)
    return int(venue.markets.funding(0).index)


def test_longs_pay_shorts_at_a_premium(venue: Venue, trader: Actor, maker: Actor) -> None:
    venue.fund(trader, 10_000 * USDC)
    venue.fund(maker, 10_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC)
    long_before = venue.exchange.cross_health(trader.address).equity
    short_before = venue.exchange.cross_health(maker.address).equity
    index = post_funding(venue, 100_000)  # 0.01% of 100,000 = 10 USDC per BTC
    owed = TENTH_BTC * index // 10**8
    assert venue.exchange.funding_owed(trader.address, 0) == (0, -owed)
    assert venue.exchange.funding_owed(maker.address, 0) == (0, owed)
    assert venue.exchange.cross_health(trader.address).equity == long_before - owed
    assert venue.exchange.cross_health(maker.address).equity == short_before + owed


def test_a_fill_settles_funding_first(venue: Venue, trader: Actor, maker: Actor) -> None:
    venue.fund(trader, 10_000 * USDC)
    venue.fund(maker, 10_000 * USDC)
    venue.open_long(trader, maker, TENTH_BTC)
    index = post_funding(venue, 100_000)
    quote_before = venue.position(trader)[1]
    logs = venue.open_long(trader, maker, TENTH_BTC)
    settled = {event.trader: event for event in events(logs, "FundingSettled")}
    owed = TENTH_BTC * index // 10**8
    assert (settled[trader.address].amount, settled[trader.address].index) == (-owed, index)
    assert settled[maker.address].amount == owed
    notional = TENTH_BTC * BTC.index_price // 10**8
    fee = -(-notional * BTC.taker_fee_ppm // 10**6)
    assert venue.position(trader)[1] == quote_before - owed - notional - fee
    assert venue.exchange.funding_owed(trader.address, 0) == (index, 0)


def test_payments_round_in_the_protocols_favour(venue: Venue, trader: Actor, maker: Actor) -> None:
    # one lot long and short: the index step is not a whole unit per lot
    venue.fund(trader, 10_000 * USDC)
    venue.fund(maker, 10_000 * USDC)
    lot = BTC.lot_size
    ask = venue.order(maker, is_buy=False, size=lot, price=BTC.index_price)
    bid = venue.order(trader, is_buy=True, size=lot, price=BTC.index_price)
    venue.settle(match(ask, bid))
    index = post_funding(venue, 123_457)
    paid, received = (venue.exchange.funding_owed(a.address, 0)[1] for a in (trader, maker))
    assert paid == -lot * index // 10**8  # the long's debit is rounded up (floor of < 0)
    assert received == lot * index // 10**8  # the short's credit is rounded down
    assert paid + received <= 0
