"""``cancel_orders`` and ``raise_nonce_floor``: a trader stops orders without the operator."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import Actor, Venue, events


def test_cancel_marks_orders_closed(venue: Venue, trader: Actor) -> None:
    with boa.env.prank(trader.address):
        venue.exchange.cancel_orders([3, 200])
        logs = list(venue.exchange.get_logs())
    assert [(log.trader, log.nonce) for log in events(logs, "OrderCancelled")] == [
        (trader.address, 3),
        (trader.address, 200),
    ]
    for nonce in (3, 200):
        assert tuple(venue.exchange.order_state(trader.address, nonce, bytes(32))) == (0, True)
    assert tuple(venue.exchange.order_state(trader.address, 4, bytes(32))) == (0, False)


def test_cancel_is_per_trader(venue: Venue, trader: Actor, outsider: Actor) -> None:
    with boa.env.prank(outsider.address):
        venue.exchange.cancel_orders([3])
    assert tuple(venue.exchange.order_state(trader.address, 3, bytes(32))) == (0, False)


def test_nonce_floor_cancels_everything_below(venue: Venue, trader: Actor) -> None:
    with boa.env.prank(trader.address):
        venue.exchange.raise_nonce_floor(10)
        (raised,) = events(list(venue.exchange.get_logs()), "NonceFloorRaised")
    assert (raised.trader, raised.nonce_floor) == (trader.address, 10)
    assert tuple(venue.exchange.order_state(trader.address, 9, bytes(32))) == (0, True)
    assert tuple(venue.exchange.order_state(trader.address, 10, bytes(32))) == (0, False)


def test_nonce_floor_only_rises(venue: Venue, trader: Actor) -> None:
    with boa.env.prank(trader.address):
        venue.exchange.raise_nonce_floor(10)
        with boa.reverts("exchange: nonce floor can only rise"):
            venue.exchange.raise_nonce_floor(10)
