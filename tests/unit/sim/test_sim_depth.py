"""The market maker's ladder in the real engine, and market orders through it, by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from perpdex.core.types import Collateral, Price, Side, Size
from perpdex.core.units import to_collateral_units, to_price_units, to_size_units
from perpdex.sim.depth import (
    Ladder,
    Quote,
    default_ladder,
    quotes,
    run_market_order,
    size_for_notional,
)

BTC = to_size_units("1")


def hand_ladder(**changes: int) -> Ladder:
    """Three levels, no jitter: asks 100005 / 100015 / 100025 for 1 / 1.5 / 2 BTC."""
    params: dict[str, int] = {"levels": 3, "jitter_ppm": 0} | changes
    return Ladder(
        to_price_units("100000"),
        to_price_units("0.1"),
        to_size_units("0.0001"),
        BTC,
        **params,
    )


def btc(amount: str) -> Size:
    return to_size_units(amount)


def usd(amount: str) -> Price:
    return to_price_units(amount)


def test_the_ladder_by_hand() -> None:
    assert quotes(hand_ladder(), seed=7) == [
        Quote(Side.BUY, usd("99995"), btc("1")),
        Quote(Side.SELL, usd("100005"), btc("1")),
        Quote(Side.BUY, usd("99985"), btc("1.5")),
        Quote(Side.SELL, usd("100015"), btc("1.5")),
        Quote(Side.BUY, usd("99975"), btc("2")),
        Quote(Side.SELL, usd("100025"), btc("2")),
    ]


def test_buy_through_two_levels() -> None:
    fill = run_market_order(hand_ladder(), 1, Side.BUY, btc("2"), taker_fee_ppm=500)
    # 1 BTC at 100005 and 1 BTC at 100015: average 100010, 1 bp above the mid of 100000
    assert fill.complete
    assert fill.levels_consumed == 2
    assert fill.mid == usd("100000")
    assert fill.notional == to_collateral_units("200020")
    assert fill.average_price == usd("100010")
    assert fill.slippage_bps == 1
    assert fill.fee == to_collateral_units("100.01")  # 5 bps of 200,020


def test_sell_takes_part_of_the_second_level() -> None:
    fill = run_market_order(hand_ladder(), 1, Side.SELL, btc("1.5"), taker_fee_ppm=0)
    # 1 at 99995 + 0.5 at 99985 = 149987.5 for 1.5 BTC: 99991.666..., 0.8333 bps below mid
    assert fill.levels_consumed == 2
    assert fill.notional == to_collateral_units("149987.5")
    assert fill.slippage_bps == Fraction(5, 6)


def test_a_book_that_runs_out_fills_what_it_has() -> None:
    fill = run_market_order(hand_ladder(), 1, Side.BUY, btc("10"), taker_fee_ppm=0)
    assert not fill.complete
    assert fill.filled == btc("4.5")
    assert fill.levels_consumed == 3
    # (100005 * 1 + 100015 * 1.5 + 100025 * 2) / 4.5 = 100017.2222...
    assert fill.average_price == Fraction(usd("450077.5"), 45) * 10
    assert float(fill.slippage_bps) == pytest.approx(1.72222, abs=1e-5)


def test_sizes_are_seeded_jittered_and_on_the_grid() -> None:
    ladder = default_ladder()
    first, again, other = quotes(ladder, 1), quotes(ladder, 1), quotes(ladder, 2)
    assert first == again
    assert first != other
    assert len(first) == 2 * ladder.levels
    for index, quote in enumerate(first):
        level = index // 2
        nominal = ladder.base_size * (1 + Fraction(ladder.growth_ppm * level, 10**6))
        assert nominal * Fraction(3, 4) - ladder.lot_size <= quote.size <= nominal * Fraction(5, 4)
        assert quote.size % ladder.lot_size == 0
        assert quote.price % ladder.tick_size == 0
    bids = [q.price for q in first if q.side is Side.BUY]
    asks = [q.price for q in first if q.side is Side.SELL]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert max(bids) < ladder.mid < min(asks)


def test_notional_is_sized_in_whole_lots_at_the_mid() -> None:
    ladder = hand_ladder()
    assert size_for_notional(ladder, to_collateral_units("500000")) == btc("5")
    assert size_for_notional(ladder, to_collateral_units("15.99")) == btc("0.0001")
    assert size_for_notional(ladder, Collateral(9_999_999)) == 0


def test_bad_ladders_are_refused() -> None:
    with pytest.raises(ValueError, match="tick"):
        hand_ladder(level_step_ppm=0)
    with pytest.raises(ValueError, match="zero"):
        hand_ladder(levels=10_001, level_step_ppm=100)
    with pytest.raises(ValueError, match="jitter"):
        hand_ladder(jitter_ppm=1_000_000)
