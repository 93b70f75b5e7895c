"""``cancel_orders``, ``cancel_order`` and ``raise_nonce_floor``: a trader stops orders without
the operator."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, events, match, rejection_reasons

from perpdex.settlement.encoding import pack_order


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


def test_cancel_order_closes_exactly_that_order(venue: Venue, maker: Actor, trader: Actor) -> None:
    venue.fund(maker, 10_000 * USDC)
    venue.fund(trader, 10_000 * USDC)
    ask = venue.order(maker, is_buy=False, size=BTC.lot_size, price=BTC.index_price)
    kept = venue.order(maker, is_buy=False, size=BTC.lot_size, price=BTC.index_price)
    with boa.env.prank(maker.address):
        venue.exchange.cancel_order(pack_order(ask))
        (cancelled,) = events(list(venue.exchange.get_logs()), "OrderCancelled")
    assert (cancelled.nonce, cancelled.order_hash) == (ask.order.nonce, ask.order_hash)
    bids = [
        venue.order(trader, is_buy=True, size=BTC.lot_size, price=BTC.index_price) for _ in range(2)
    ]
    logs = venue.settle(match(ask, bids[0]), match(kept, bids[1]))
    assert rejection_reasons(logs) == [venue.exchange.REJECT_ORDER_CLOSED()]
    assert venue.position(trader)[0] == BTC.lot_size


def test_cancel_order_of_someone_else_reverts(venue: Venue, maker: Actor, outsider: Actor) -> None:
    ask = venue.order(maker, is_buy=False, size=BTC.lot_size, price=BTC.index_price)
    with boa.env.prank(outsider.address), boa.reverts("exchange: not the caller's order"):
        venue.exchange.cancel_order(pack_order(ask))
