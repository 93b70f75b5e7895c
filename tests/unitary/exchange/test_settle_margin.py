"""``settle``'s end-of-batch rule: initial margin if risk grew, otherwise no worse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from boa.contracts.base_evm_contract import BoaError
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, events, match

from perpdex.core.signing import keccak256
from perpdex.core.types import MarginMode

PRICE = BTC.index_price
LOT = BTC.lot_size


@contextmanager
def margin_error(who: Actor) -> Iterator[None]:
    """Expects a revert with the custom error ``MarginCheckFailed(who)``."""
    with pytest.raises(BoaError) as info:
        yield
    selector = keccak256(b"MarginCheckFailed(address)")[:4]
    revert_data = info.value.stack_trace.last_frame.vm_error.args[0]
    assert revert_data == selector + bytes(12) + bytes.fromhex(who.address[2:])


def test_opening_beyond_initial_margin_reverts_the_batch(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    # 1,000 USDC at 5% initial margin backs at most 20,000 USDC of notional (0.2 BTC)
    ask = venue.order(maker, is_buy=False, size=2_500 * LOT, price=PRICE)
    bid = venue.order(trader, is_buy=True, size=2_500 * LOT, price=PRICE)
    with margin_error(trader):
        venue.settle(match(ask, bid))
    assert venue.position(trader) == (0, 0, False, 0)
    assert venue.position(maker) == (0, 0, False, 0)


def test_opening_within_initial_margin_settles(venue: Venue, maker: Actor, trader: Actor) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    venue.open_long(trader, maker, 1_900 * LOT)
    health = venue.exchange.cross_health(trader.address)
    assert health.equity >= health.initial


def test_reducing_below_initial_margin_is_allowed_when_not_worse(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    venue.open_long(trader, maker, 1_900 * LOT)
    venue.set_price(0, PRICE * 99 // 100)  # below initial, above maintenance
    health = venue.exchange.cross_health(trader.address)
    assert health.maintenance < health.equity < health.initial
    bid = venue.order(maker, is_buy=True, size=500 * LOT, price=PRICE * 99 // 100)
    ask = venue.order(trader, is_buy=False, size=500 * LOT, price=PRICE * 99 // 100)
    logs = venue.settle(match(bid, ask))
    assert len(events(logs, "Filled")) == 1
    assert venue.position(trader)[0] == 1_400 * LOT


def test_reducing_at_a_ratio_worsening_price_reverts(
    venue: Venue, maker: Actor, trader: Actor
) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    venue.open_long(trader, maker, 1_900 * LOT)
    venue.set_price(0, PRICE * 99 // 100)
    # selling far below the mark dumps equity faster than it frees margin
    low = PRICE * 90 // 100
    bid = venue.order(maker, is_buy=True, size=100 * LOT, price=low)
    ask = venue.order(trader, is_buy=False, size=100 * LOT, price=low)
    with margin_error(trader):
        venue.settle(match(bid, ask))


def test_flipping_below_initial_margin_reverts(venue: Venue, maker: Actor, trader: Actor) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    venue.open_long(trader, maker, 1_900 * LOT)
    venue.set_price(0, PRICE * 99 // 100)
    bid = venue.order(maker, is_buy=True, size=3_800 * LOT, price=PRICE * 99 // 100)
    ask = venue.order(trader, is_buy=False, size=3_800 * LOT, price=PRICE * 99 // 100)
    with margin_error(trader):
        venue.settle(match(bid, ask))


def test_closing_realises_quote_into_collateral(venue: Venue, maker: Actor, trader: Actor) -> None:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 1_000 * USDC)
    venue.open_long(trader, maker, 1_000 * LOT)
    higher = PRICE + 1_000 * BTC.tick_size
    bid = venue.order(maker, is_buy=True, size=1_000 * LOT, price=higher)
    ask = venue.order(trader, is_buy=False, size=1_000 * LOT, price=higher)
    venue.settle(match(bid, ask))
    assert venue.position(trader) == (0, 0, False, 0)
    collateral, _, markets = venue.exchange.account(trader.address)
    assert markets == 0
    scale, ppm = venue.exchange.SIZE_SCALE(), venue.exchange.FRACTION_SCALE()
    bought, sold = 1_000 * LOT * PRICE // scale, 1_000 * LOT * higher // scale
    fees = bought * BTC.taker_fee_ppm // ppm + sold * BTC.taker_fee_ppm // ppm
    assert collateral == 1_000 * USDC + sold - bought - fees


class TestIsolated:
    @pytest.fixture(autouse=True)
    def _funded(self, venue: Venue, maker: Actor, trader: Actor) -> None:
        venue.fund(maker, 100_000 * USDC)
        venue.fund(trader, 2_000 * USDC)

    def test_isolated_open_moves_initial_margin_out_of_cross(
        self, venue: Venue, maker: Actor, trader: Actor
    ) -> None:
        venue.open_long(trader, maker, 1_000 * LOT, margin_mode=MarginMode.ISOLATED)
        size, _quote, isolated, isolated_margin = venue.position(trader)
        assert (size, isolated) == (1_000 * LOT, True)
        value = 1_000 * LOT * PRICE // venue.exchange.SIZE_SCALE()
        taker_fee = value * BTC.taker_fee_ppm // venue.exchange.FRACTION_SCALE()
        requirement = value * BTC.initial_margin_ppm // venue.exchange.FRACTION_SCALE()
        assert isolated_margin == requirement + taker_fee
        assert venue.collateral(trader) == 2_000 * USDC - isolated_margin
        assert venue.exchange.account(trader.address)[2] == 0  # not a cross position

    def test_isolated_loss_never_leaks_into_cross_collateral(
        self, venue: Venue, maker: Actor, trader: Actor
    ) -> None:
        venue.open_long(trader, maker, 1_000 * LOT, margin_mode=MarginMode.ISOLATED)
        cross_before = venue.collateral(trader)
        venue.set_price(0, PRICE // 2)  # the isolated position is far underwater
        assert venue.exchange.isolated_health(trader.address, 0).equity < 0
        cross = venue.exchange.cross_health(trader.address)
        assert cross.equity == cross_before  # the loss stays in the isolated position
        # closing at the crashed price would realise a loss beyond its margin: refused
        low = PRICE // 2
        bid = venue.order(maker, is_buy=True, size=1_000 * LOT, price=low)
        ask = venue.order(
            trader, is_buy=False, size=1_000 * LOT, price=low, margin_mode=MarginMode.ISOLATED
        )
        with margin_error(trader):
            venue.settle(match(bid, ask))
        assert venue.collateral(trader) == cross_before

    def test_closing_isolated_releases_margin_and_pnl(
        self, venue: Venue, maker: Actor, trader: Actor
    ) -> None:
        venue.open_long(trader, maker, 1_000 * LOT, margin_mode=MarginMode.ISOLATED)
        _, _quote, _, isolated_margin = venue.position(trader)
        cross_before = venue.collateral(trader)
        bid = venue.order(maker, is_buy=True, size=1_000 * LOT, price=PRICE)
        ask = venue.order(
            trader, is_buy=False, size=1_000 * LOT, price=PRICE, margin_mode=MarginMode.ISOLATED
        )
        logs = venue.settle(match(bid, ask))
        assert venue.position(trader) == (0, 0, False, 0)
        (released,) = [log for log in events(logs, "IsolatedMarginMoved") if log.amount < 0]
        assert venue.collateral(trader) == cross_before - released.amount
        assert -released.amount < isolated_margin  # both fees were paid from it

    def test_cross_order_on_isolated_position_is_rejected(
        self, venue: Venue, maker: Actor, trader: Actor
    ) -> None:
        venue.open_long(trader, maker, 100 * LOT, margin_mode=MarginMode.ISOLATED)
        ask = venue.order(maker, is_buy=False, size=100 * LOT, price=PRICE)
        bid = venue.order(trader, is_buy=True, size=100 * LOT, price=PRICE)
        logs = venue.settle(match(ask, bid))
        assert [log.reason for log in events(logs, "FillRejected")] == [
            venue.exchange.REJECT_MARGIN_MODE()
        ]

    def test_reduce_only_order_keeps_its_signed_margin_mode(
        self, venue: Venue, maker: Actor, trader: Actor
    ) -> None:
        venue.open_long(trader, maker, 100 * LOT, margin_mode=MarginMode.ISOLATED)
        bid = venue.order(maker, is_buy=True, size=100 * LOT, price=PRICE)
        cross_reduce = venue.order(
            trader, is_buy=False, size=100 * LOT, price=PRICE, reduce_only=True
        )
        logs = venue.settle(match(bid, cross_reduce))
        assert [log.reason for log in events(logs, "FillRejected")] == [
            venue.exchange.REJECT_MARGIN_MODE()
        ]
        assert venue.position(trader)[0] == 100 * LOT
