"""A position that goes flat and reopens in the other margin mode within one batch.

Regression of a found exploit: the end-of-batch check once classified a touched market
as isolated if either its pre- or post-batch word was, so when the mode switched inside
the batch the cross word was measured as if isolated (and left out of the cross "risk
only shrank" test), and a batch opening risk below initial margin passed. Now each mode
sees the other mode's side of the batch as flat: both batches revert.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from boa.contracts.base_evm_contract import BoaError
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, actor, match

from perpdex.core.signing import keccak256
from perpdex.core.types import MarginMode, MarketId, Price

LOT, PRICE, TICK = BTC.lot_size, BTC.index_price, BTC.tick_size
MARKET = MarketId(0)
ISOLATED = MarginMode.ISOLATED


@contextmanager
def margin_check_fails(who: Actor) -> Iterator[None]:
    with pytest.raises(BoaError) as info:
        yield
    revert_data = info.value.stack_trace.last_frame.vm_error.args[0]
    selector = keccak256(b"MarginCheckFailed(address)")[:4]
    assert revert_data == selector + bytes(12) + bytes.fromhex(who.address[2:])


@pytest.fixture
def maker(venue: Venue) -> Actor:
    maker = actor("maker_0")
    venue.fund(maker, 1_000_000 * USDC)
    return maker


@pytest.fixture
def trader() -> Actor:
    return actor("trader_0")


def trade(
    venue: Venue, maker: Actor, trader: Actor, *, buys: bool, lots: int, price: int,
    mode: MarginMode = MarginMode.CROSS,
) -> object:  # fmt: skip
    """A match of ``trader`` (taker) against ``maker`` at ``price``."""
    resting = venue.order(maker, is_buy=not buys, size=lots * LOT, price=price)
    incoming = venue.order(trader, is_buy=buys, size=lots * LOT, price=price, margin_mode=mode)
    return match(resting, incoming)


def test_isolated_reopen_after_cross_close_in_one_batch_must_meet_initial_margin(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    venue.fund(trader, 2_000 * USDC)
    venue.settle(trade(venue, maker, trader, buys=True, lots=1_000, price=PRICE))
    # Opening this isolated long alone reverts: equity 405 USDC < initial 500 USDC.
    above_mark = PRICE + 10_000 * TICK
    close = trade(venue, maker, trader, buys=False, lots=1_000, price=PRICE)
    reopen = trade(venue, maker, trader, buys=True, lots=1_000, price=above_mark, mode=ISOLATED)
    with margin_check_fails(trader):
        venue.settle(close, reopen)


def test_cross_reopen_after_isolated_close_in_one_batch_is_growth(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    venue.fund(trader, 505 * USDC)  # all of it becomes the isolated margin: cross is 0
    venue.settle(trade(venue, maker, trader, buys=True, lots=1_000, price=PRICE, mode=ISOLATED))
    venue.set_price(MARKET, Price(95_000 * USDC))
    # closing releases ~5 USDC into cross, which then backs a new 9,495 USDC cross long
    # (initial margin 475 USDC) because the market is not counted as a growing cross one
    close = trade(venue, maker, trader, buys=False, lots=1_000, price=95_100 * USDC, mode=ISOLATED)
    reopen = trade(venue, maker, trader, buys=True, lots=1_000, price=94_950 * USDC)
    with margin_check_fails(trader):
        venue.settle(close, reopen)


def test_isolated_loss_cannot_leak_into_cross_collateral(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    """The isolated long (505 USDC of margin) closes 609.7 USDC down, then a cross buy of
    the same trader fills in the same market: the cross fill must not adopt the isolated
    loss, and the batch must revert on the isolated deficit it cannot settle."""
    venue.fund(trader, 2_000 * USDC)
    venue.settle(trade(venue, maker, trader, buys=True, lots=1_000, price=PRICE, mode=ISOLATED))
    before = venue.collateral(trader), venue.position(trader)
    close = trade(venue, maker, trader, buys=False, lots=1_000, price=94_000 * USDC, mode=ISOLATED)
    reopen = trade(venue, maker, trader, buys=True, lots=1_000, price=PRICE)
    with margin_check_fails(trader):
        venue.settle(close, reopen)
    assert (venue.collateral(trader), venue.position(trader)) == before


def test_isolated_deficit_cannot_be_paid_by_an_isolated_reopen_from_cross(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    """A bankrupt isolated long (mark 94,000: equity -100 USDC) closes below zero and a new
    isolated buy of the same trader follows in the batch: the margin that buy moves from
    cross collateral must not absorb the old deficit (which is the insurance fund's)."""
    venue.fund(trader, 2_000 * USDC)
    venue.settle(trade(venue, maker, trader, buys=True, lots=1_000, price=PRICE, mode=ISOLATED))
    venue.set_price(MARKET, Price(94_000 * USDC))
    before = venue.collateral(trader), venue.position(trader)
    close = trade(venue, maker, trader, buys=False, lots=1_000, price=94_000 * USDC, mode=ISOLATED)
    reopen = trade(venue, maker, trader, buys=True, lots=500, price=94_000 * USDC, mode=ISOLATED)
    with margin_check_fails(trader):
        venue.settle(close, reopen)
    assert (venue.collateral(trader), venue.position(trader)) == before
