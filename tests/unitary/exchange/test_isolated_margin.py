"""``add_isolated_margin`` / ``remove_isolated_margin``: moves between cross and isolated."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue

from perpdex.core.types import MarginMode


@pytest.fixture
def isolated_long(venue: Venue, maker: Actor, trader: Actor) -> Venue:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 2_000 * USDC)
    lots = 1_000 * BTC.lot_size
    venue.open_long(trader, maker, lots, margin_mode=MarginMode.ISOLATED)
    return venue


def test_add_then_remove_margin(isolated_long: Venue, trader: Actor) -> None:
    venue = isolated_long
    margin_before, cross_before = venue.position(trader)[3], venue.collateral(trader)
    with boa.env.prank(trader.address):
        venue.exchange.add_isolated_margin(0, 100 * USDC)
    assert venue.position(trader)[3] == margin_before + 100 * USDC
    assert venue.collateral(trader) == cross_before - 100 * USDC
    with boa.env.prank(trader.address):
        venue.exchange.remove_isolated_margin(0, 100 * USDC)
    assert (venue.position(trader)[3], venue.collateral(trader)) == (margin_before, cross_before)


def test_remove_below_initial_margin_reverts(isolated_long: Venue, trader: Actor) -> None:
    with boa.env.prank(trader.address), boa.reverts("exchange: isolated margin too low"):
        isolated_long.exchange.remove_isolated_margin(0, 10 * USDC)


def test_add_beyond_free_cross_collateral_reverts(isolated_long: Venue, trader: Actor) -> None:
    cross = isolated_long.collateral(trader)
    with boa.env.prank(trader.address), boa.reverts("exchange: cross margin too low"):
        isolated_long.exchange.add_isolated_margin(0, cross + 1)


def test_no_isolated_position_no_margin_move(venue: Venue, trader: Actor) -> None:
    venue.fund(trader, 100 * USDC)
    with boa.env.prank(trader.address), boa.reverts("exchange: no isolated position"):
        venue.exchange.add_isolated_margin(0, USDC)
