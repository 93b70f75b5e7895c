"""``claim_fees`` and the admin's roles: fees leave only to the fee recipient."""

from __future__ import annotations

import boa
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue


def test_fees_go_to_the_recipient_only(
    venue: Venue, maker: Actor, trader: Actor, outsider: Actor
) -> None:
    venue.fund(maker, 10_000 * USDC)
    venue.fund(trader, 10_000 * USDC)
    lots = 100 * BTC.lot_size
    venue.open_long(trader, maker, lots)
    fees = venue.exchange.fee_pool()
    assert fees > 0
    with boa.env.prank(venue.admin.address):
        venue.exchange.set_fee_recipient(outsider.address)
    with boa.env.prank(trader.address):  # anyone may trigger the claim; only the recipient gains
        venue.exchange.claim_fees()
    assert venue.usdc.balanceOf(outsider.address) == fees
    assert venue.exchange.fee_pool() == 0


def test_admin_setters_are_admin_only(venue: Venue, outsider: Actor) -> None:
    with boa.env.prank(outsider.address):
        with boa.reverts("exchange: caller is not the admin"):
            venue.exchange.set_fee_recipient(outsider.address)
        with boa.reverts("exchange: caller is not the admin"):
            venue.exchange.set_operator(outsider.address)


def test_operator_rotation(venue: Venue, outsider: Actor) -> None:
    with boa.env.prank(venue.admin.address):
        venue.exchange.set_operator(outsider.address)
    assert venue.exchange.operator() == outsider.address
