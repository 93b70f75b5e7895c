"""``settle``: a batch of matched fills moves positions only as both orders signed."""

from __future__ import annotations

import boa

from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, match

PRICE = BTC.index_price
LOT = BTC.lot_size


def test_fill_opens_opposite_positions(venue: Venue, maker: Actor, trader: Actor) -> None:
    venue.fund(maker, 10_000 * USDC)
    venue.fund(trader, 10_000 * USDC)
    ask = venue.order(maker, is_buy=False, size=1_000 * LOT, price=PRICE)
    bid = venue.order(trader, is_buy=True, size=1_000 * LOT, price=PRICE)
    venue.settle(match(ask, bid))
    notional = 1_000 * LOT * PRICE // venue.exchange.SIZE_SCALE()
    maker_fee = notional * BTC.maker_fee_ppm // venue.exchange.FRACTION_SCALE()
    taker_fee = notional * BTC.taker_fee_ppm // venue.exchange.FRACTION_SCALE()
    assert venue.position(maker) == (-1_000 * LOT, notional - maker_fee, False, 0)
    assert venue.position(trader) == (1_000 * LOT, -notional - taker_fee, False, 0)
    assert venue.exchange.fee_pool() == maker_fee + taker_fee
