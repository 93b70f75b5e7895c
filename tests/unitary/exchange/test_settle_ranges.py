"""Values at the top of a signed field's range: no order may stop settlement for everyone.

Regressions of found holes: after ``raise_nonce_floor(2**64 - 1)`` a whole fill of nonce
2**64 - 1 raised the floor to 2**64, which does not fit the account word, and the whole
batch reverted with a plain error, for every trader in it; a signed size of 2**63 or
more (a valid uint64) overflowed the position word the same way.
"""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, events, match, rejection_reasons

LAST_NONCE = 2**64 - 1


@pytest.fixture
def funded(venue: Venue, maker: Actor, trader: Actor, outsider: Actor) -> Venue:
    for who in (maker, trader, outsider):
        venue.fund(who, 10_000 * USDC)
    return venue


def raise_floor(venue: Venue, who: Actor, floor: int) -> None:
    with boa.env.prank(who.address):
        venue.exchange.raise_nonce_floor(floor)


@pytest.mark.parametrize("floor", [LAST_NONCE, LAST_NONCE - 1])
def test_last_nonce_cannot_stop_a_batch(
    funded: Venue, maker: Actor, trader: Actor, outsider: Actor, floor: int
) -> None:
    """The trader's orders from ``floor`` up to the last nonce fill whole, and an
    unrelated fill in the same batch settles with them."""
    raise_floor(funded, trader, floor)
    lot, price = BTC.lot_size, BTC.index_price
    matches = [
        match(
            funded.order(maker, is_buy=False, size=lot, price=price),
            funded.order(trader, is_buy=True, size=lot, price=price, nonce=nonce),
        )
        for nonce in range(floor, LAST_NONCE + 1)
    ]
    unrelated = match(
        funded.order(maker, is_buy=True, size=lot, price=price),
        funded.order(outsider, is_buy=False, size=lot, price=price),
    )
    logs = funded.settle(*matches, unrelated)
    assert rejection_reasons(logs) == []
    assert len(events(logs, "Filled")) == len(matches) + 1
    assert funded.exchange.account(trader.address)[1] == floor  # the map took the fills
    for m in matches:
        state = funded.exchange.order_state(trader.address, m.taker.order.nonce, m.taker.order_hash)
        assert tuple(state) == (0, True)
    assert funded.position(outsider)[0] == -lot


# ---------------------------------------------------------------- position range

WHALE_FUNDS = 10**22  # collateral units: enough margin for a 2**63-unit BTC position


def lots_below(bound: int) -> int:
    """The largest fill size below ``bound`` on the BTC lot grid."""
    return (bound - 1) // BTC.lot_size * BTC.lot_size


def test_fill_too_large_for_a_position_word_is_skipped_not_reverted(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    """A signed size of 2**63 or more fits the order's uint64 but not a position's int64:
    such a fill is skipped, where it once reverted the whole batch."""
    for who in (maker, trader):
        venue.fund(who, WHALE_FUNDS)
    size, price = lots_below(2**64), BTC.index_price
    ask = venue.order(maker, is_buy=False, size=size, price=price)
    bid = venue.order(trader, is_buy=True, size=size, price=price)
    logs = venue.settle(match(ask, bid, size=lots_below(2**63) + BTC.lot_size))
    assert rejection_reasons(logs) == [venue.exchange.REJECT_OUT_OF_RANGE()]
    assert venue.position(trader)[0] == 0


def test_fills_that_would_overflow_a_position_are_skipped_and_it_can_still_shrink(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    """Three fills of one order, each within the fill range: the third would take the
    position past int64 and is skipped; the others settle, and the position closes."""
    for who in (maker, trader):
        venue.fund(who, WHALE_FUNDS)
    size, price, step = lots_below(2**64), BTC.index_price, lots_below(2**62)
    ask = venue.order(maker, is_buy=False, size=size, price=price)
    bid = venue.order(trader, is_buy=True, size=size, price=price)
    logs = venue.settle(*(match(ask, bid, size=step) for _ in range(3)))
    assert rejection_reasons(logs) == [venue.exchange.REJECT_OUT_OF_RANGE()]
    assert venue.position(trader)[0] == 2 * step
    # the position is beyond the quick range test; reducing it is never refused
    close_bid = venue.order(maker, is_buy=True, size=2 * step, price=price)
    close_ask = venue.order(trader, is_buy=False, size=2 * step, price=price)
    logs = venue.settle(
        match(close_bid, close_ask, size=step), match(close_bid, close_ask, size=step)
    )
    assert rejection_reasons(logs) == []
    assert venue.position(trader) == (0, 0, False, 0)
