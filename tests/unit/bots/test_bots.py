"""The bots' decisions, by hand and over random references: the maker's ladder prices,
its requote plan never crossing its own quotes, the taker's leverage cap, the crash path."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from perpdex.bots.fills import OwnFills
from perpdex.bots.ladder import MakerSpec, Move, Pull, Slot, ladder, plan, quoted_sides
from perpdex.bots.taker import TakerSpec, draw_order, notional
from perpdex.chain.deployment import ListedMarket
from perpdex.chain.markets import default_markets
from perpdex.core.types import Collateral, MarketId, Price, Side, Size
from perpdex.core.units import from_size_units, to_collateral_units, to_price_units, to_size_units
from perpdex.sdk.values import Fill, FillRejected
from perpdex.sim.depth import Quote
from perpdex.sim.market.path import PathSpec, market_path

SPEC = default_markets()[0]
BTC_PERP = ListedMarket(**{f: getattr(SPEC, f) for f in SPEC.__dataclass_fields__}, id=MarketId(0))
TICK = BTC_PERP.tick_size
MAKER = MakerSpec(levels=3, base_size=to_size_units("1"))


def crossed(book: Mapping[Slot, Quote]) -> bool:
    bids = [q.price for q in book.values() if q.side is Side.BUY]
    asks = [q.price for q in book.values() if q.side is Side.SELL]
    return bool(bids and asks and max(bids) >= min(asks))


def test_the_ladder_is_priced_away_from_the_reference_on_the_tick() -> None:
    quotes = ladder(to_price_units("100000"), BTC_PERP, MAKER, seed=1)
    # 5 bp half-spread, 5 bp steps; 1 BTC growing 0.5 BTC a level
    assert {slot: (q.price, q.size) for slot, q in quotes.items()} == {
        (Side.BUY, 0): (to_price_units("99950"), to_size_units("1")),
        (Side.SELL, 0): (to_price_units("100050"), to_size_units("1")),
        (Side.BUY, 1): (to_price_units("99900"), to_size_units("1.5")),
        (Side.SELL, 1): (to_price_units("100100"), to_size_units("1.5")),
        (Side.BUY, 2): (to_price_units("99850"), to_size_units("2")),
        (Side.SELL, 2): (to_price_units("100150"), to_size_units("2")),
    }


def test_an_off_grid_band_rounds_bids_down_and_asks_up() -> None:
    quotes = ladder(to_price_units("100000.3"), BTC_PERP, MAKER, seed=1)
    # 100000.3 * 0.9995 = 99950.29985 -> 99950.2; * 1.0005 = 100050.30015 -> 100050.4
    assert quotes[(Side.BUY, 0)].price == to_price_units("99950.2")
    assert quotes[(Side.SELL, 0)].price == to_price_units("100050.4")


def test_the_side_that_would_grow_the_inventory_past_the_limit_is_not_quoted() -> None:
    limit = MAKER.max_inventory
    assert quoted_sides(0, MAKER) == {Side.BUY, Side.SELL}
    assert quoted_sides(limit, MAKER) == {Side.SELL}
    assert quoted_sides(-limit, MAKER) == {Side.BUY}


def apply(book: dict[Slot, Quote], step: Move | Pull) -> None:
    if isinstance(step, Pull):
        del book[step.slot]
    else:
        book[step.slot] = step.quote


def test_a_fall_moves_the_bids_first_and_a_rise_the_asks() -> None:
    old = ladder(to_price_units("100000"), BTC_PERP, MAKER, seed=1)
    low = ladder(to_price_units("99000"), BTC_PERP, MAKER, seed=1)
    steps = plan(old, low, to_price_units("100000"), to_price_units("99000"))
    assert [s.slot[0] for s in steps] == [Side.BUY] * 3 + [Side.SELL] * 3
    steps = plan(low, old, to_price_units("99000"), to_price_units("100000"))
    assert [s.slot[0] for s in steps] == [Side.SELL] * 3 + [Side.BUY] * 3


def test_a_level_at_its_price_and_size_is_left_alone_and_a_taken_one_refilled() -> None:
    reference = to_price_units("100000")
    book = ladder(reference, BTC_PERP, MAKER, seed=1)
    taken = dict(book)
    best_ask = book[(Side.SELL, 0)]
    taken[(Side.SELL, 0)] = Quote(Side.SELL, best_ask.price, Size(best_ask.size // 2))
    assert plan(taken, book, reference, reference) == [Move((Side.SELL, 0), best_ask)]


@settings(max_examples=300, deadline=None)
@given(
    references=st.lists(
        st.integers(to_price_units("50000"), to_price_units("150000")), min_size=2, max_size=6
    ),
    inventories=st.lists(st.sampled_from([0, 1, -1]), min_size=6, max_size=6),
    dropped=st.sets(st.sampled_from([(s, i) for s in Side for i in range(3)])),
)
def test_requotes_never_cross_the_makers_own_quotes(
    references: list[int], inventories: list[int], dropped: set[Slot]
) -> None:
    """After every single step of every requote (any jump of the reference, a side pulled
    for inventory, levels already gone), no bid reaches an ask."""
    book: dict[Slot, Quote] = {}
    previous: Price | None = None
    for reference, inventory in zip(references, inventories, strict=False):
        sides = quoted_sides(inventory * MAKER.max_inventory, MAKER)
        target = {
            slot: quote
            for slot, quote in ladder(Price(reference), BTC_PERP, MAKER, seed=1).items()
            if slot[0] in sides
        }
        for slot in dropped:  # traded whole since the last requote
            book.pop(slot, None)
        for step in plan(book, target, previous, Price(reference)):
            apply(book, step)
            assert not crossed(book)
        assert book == target
        previous = Price(reference)


def test_a_taker_never_levers_past_its_cap() -> None:
    spec = TakerSpec(to_collateral_units("10000"), max_leverage=3)
    index, lot = to_price_units("100000"), BTC_PERP.lot_size
    rng = random.Random(7)
    position = 0
    for _ in range(2_000):
        side, size = draw_order(rng, spec, position, index, lot)
        assert spec.min_size <= size <= spec.max_size and size % lot == 0
        position += side * size
        assert notional(position, index) <= spec.collateral * spec.max_leverage


def test_at_the_cap_the_taker_trades_back() -> None:
    spec = TakerSpec(Collateral(to_collateral_units("10000")), max_leverage=3)
    full = to_size_units("0.3")  # 30,000 USDC at 100,000: three times the collateral
    sides = {
        draw_order(random.Random(seed), spec, full, to_price_units("100000"), BTC_PERP.lot_size)[0]
        for seed in range(20)
    }
    assert sides == {Side.SELL}


def test_the_path_walks_crashes_on_time_and_walks_on_from_the_low() -> None:
    spec = PathSpec(to_price_units("100000"), TICK, seed=3, crash_ppm=80_000, crash_at_s=5.0)
    points = list(itertools.islice(market_path(spec), 20))
    assert [p.at_s for p in points] == [float(t) for t in range(20)]
    before = points[4].price
    crash = [p.price for p in points[5:9]]
    assert crash == sorted(crash, reverse=True)
    assert crash[-1] == (before - before * 80_000 // 1_000_000) // TICK * TICK
    assert all(p.price % TICK == 0 for p in points)
    assert abs(points[9].price - crash[-1]) < crash[-1] // 50  # a walk step, not a jump


def test_without_a_crash_the_path_is_one_walk() -> None:
    spec = PathSpec(to_price_units("100000"), TICK, seed=3, crash_ppm=0, crash_at_s=5.0)
    points = list(itertools.islice(market_path(spec), 10))
    assert [p.at_s for p in points] == [float(t) for t in range(10)]
    steps = [abs(b.price - a.price) for a, b in itertools.pairwise(points)]
    assert max(steps) < to_price_units("1000")


def test_a_fill_the_chain_rejects_no_longer_counts_in_the_bots_position() -> None:
    own = OwnFills("BTC-PERP")
    own.on_fill(_fill(30))
    own.on_fill(_fill(20))
    fill = _fill(20)
    own.on_rejected(
        FillRejected(
            fill.market,
            fill.seq,
            3,
            fill.order_id,
            fill.order_hash,
            None,
            Side.BUY,
            fill.price,
            fill.size,
            False,
            "ORDER_CLOSED",
        )
    )
    assert (own.position, own.by_order[7]) == (30, 30)


def _fill(size_units: int) -> Fill:
    size = from_size_units(Size(size_units))
    return Fill("BTC-PERP", 1, 1, 7, "0x" + "ab" * 32, None, Side.BUY, Decimal(5), size, False)
