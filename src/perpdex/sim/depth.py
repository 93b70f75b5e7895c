"""A market maker's ladder of resting orders in the real matching engine, and a market
order's slippage through it.

The maker quotes ``levels`` prices on each side: the first ``half_spread_ppm`` from the mid,
then one every ``level_step_ppm``; the size at level ``i`` is
``base_size * (1 + growth * i) * (1 + jitter)``, with ``jitter`` drawn uniformly from
``[-jitter_ppm, +jitter_ppm]`` by a generator seeded with ``seed`` (so a run is repeatable),
rounded down to a lot. The orders go through the real ``Sequencer`` and ``Engine`` as
post-only orders; then a market order (an IOC at the far end of the ladder) takes what it
can, and its fills, from the engine's events, give its average price.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import count

from perpdex.chain.markets import MarketSpec, default_markets
from perpdex.core.rounding import div_ceil, div_floor, mul_div_ceil
from perpdex.core.types import Address, Collateral, MarketId, OrderId, Price, Side, Size
from perpdex.core.types import TimeInForce as Tif
from perpdex.core.units import to_size_units, units
from perpdex.engine.book import Order
from perpdex.engine.clock import ManualClock
from perpdex.engine.commands import Command, NewOrder, market_order
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.errors import RejectReason
from perpdex.engine.events import EventSink
from perpdex.engine.sequencer import Sequencer

MARKET = MarketId(0)
MAKER = Address("0x" + "11" * 20)
TAKER = Address("0x" + "22" * 20)
BPS = 10_000


@dataclass(frozen=True, slots=True)
class Ladder:
    """A market maker's quotes around ``mid`` on a market's tick and lot grid."""

    mid: Price
    tick_size: Price
    lot_size: Size
    base_size: Size
    levels: int = 50
    half_spread_ppm: int = 50
    level_step_ppm: int = 100
    growth_ppm: int = 500_000
    jitter_ppm: int = 250_000

    def __post_init__(self) -> None:
        scale = units().fraction_scale
        if self.levels < 1 or self.base_size < self.lot_size:
            raise ValueError("a ladder needs at least one level of at least one lot")
        if not 0 <= self.jitter_ppm < scale or self.growth_ppm < 0:
            raise ValueError("jitter must be in [0, 1) and growth non-negative")
        if self.half_spread_ppm + (self.levels - 1) * self.level_step_ppm >= scale:
            raise ValueError("the farthest bid would be at or below zero")
        # levels one tick apart or more, so each level is its own price
        if self.mid * self.level_step_ppm < self.tick_size * scale:
            raise ValueError("level step is finer than the tick")


@dataclass(frozen=True, slots=True)
class Quote:
    side: Side
    price: Price
    size: Size


@dataclass(frozen=True, slots=True)
class BookFill:
    """What a market order of ``size`` got: ``filled`` of it, for ``notional``."""

    side: Side
    size: Size
    filled: Size
    notional: Collateral
    mid: Fraction
    levels_consumed: int
    fee: Collateral

    @property
    def complete(self) -> bool:
        """False when the book ran out of depth before the order was filled."""
        return self.filled == self.size

    @property
    def average_price(self) -> Fraction:
        return Fraction(self.notional * units().size_scale, self.filled)

    @property
    def slippage_bps(self) -> Fraction:
        """How much worse than the mid the average fill price is, over the filled part."""
        return (self.average_price - self.mid) / self.mid * self.side * BPS

    @property
    def fee_bps(self) -> Fraction:
        return Fraction(self.fee * BPS, self.notional)


def btc_perp() -> MarketSpec:
    """The BTC-PERP market the deployment lists (its grid, index price and taker fee)."""
    return default_markets()[0]


def default_ladder() -> Ladder:
    """Assumed BTC-PERP maker: a 1 bp spread, 50 levels 1 bp apart, 1 BTC growing 0.5 BTC a
    level (about 32 BTC within 10 bps of the mid per side, 660 BTC within 50 bps)."""
    spec = btc_perp()
    return Ladder(spec.index_price, spec.tick_size, spec.lot_size, to_size_units("1"))


def quotes(ladder: Ladder, seed: int) -> list[Quote]:
    """The ladder's orders, nearest the mid first, a bid then an ask at each level."""
    rng = random.Random(seed)
    scale = units().fraction_scale
    out: list[Quote] = []
    for level in range(ladder.levels):
        offset = ladder.half_spread_ppm + level * ladder.level_step_ppm
        for side in (Side.BUY, Side.SELL):
            price = _level_price(ladder, side, offset)
            jitter = rng.randint(-ladder.jitter_ppm, ladder.jitter_ppm)
            raw = ladder.base_size * (scale + ladder.growth_ppm * level) * (scale + jitter)
            lots = max(1, div_floor(raw, scale * scale * ladder.lot_size))
            out.append(Quote(side, price, Size(lots * ladder.lot_size)))
    return out


def _level_price(ladder: Ladder, side: Side, offset_ppm: int) -> Price:
    # Quotes round away from the mid, onto the tick grid: never better than the model says.
    scale = units().fraction_scale
    grid = scale * ladder.tick_size
    if side is Side.SELL:
        return Price(div_ceil(ladder.mid * (scale + offset_ppm), grid) * ladder.tick_size)
    return Price(div_floor(ladder.mid * (scale - offset_ppm), grid) * ladder.tick_size)


def size_for_notional(ladder: Ladder, notional: Collateral) -> Size:
    """Whole lots worth at most ``notional`` at the mid (a book order is sized in base units)."""
    return lots_worth(notional, ladder.mid, ladder.lot_size)


def lots_worth(notional: Collateral, price: Price, lot: Size) -> Size:
    """Whole lots worth at most ``notional`` at ``price``."""
    return Size(div_floor(notional * units().size_scale, price * lot) * lot)


class FillRecorder(EventSink):
    """Keeps the fills as (price, size); a rejected command is a bug of the model, so it
    raises."""

    def __init__(self) -> None:
        self.fills: list[tuple[int, int]] = []

    def rejected(self, seq: int, command: Command, reason: RejectReason) -> None:
        raise RuntimeError(f"the engine rejected {command}: {reason.name}")

    def filled(self, seq: int, taker: NewOrder, maker: Order, price: int, size: int) -> None:
        self.fills.append((price, size))


def post(
    sequencer: Sequencer,
    market: MarketId,
    maker: Address,
    book: Iterable[Quote],
    ids: Iterator[int],
) -> None:
    """Rest ``book`` in the engine as ``maker``'s post-only orders, ids drawn from ``ids``."""
    for quote in book:
        order = NewOrder(
            market=market,
            order_id=OrderId(next(ids)),
            account=maker,
            side=quote.side,
            price=quote.price,
            size=quote.size,
            tif=Tif.POST_ONLY,
        )
        sequencer.submit(order)


def run_market_order(
    ladder: Ladder, seed: int, side: Side, size: Size, taker_fee_ppm: int
) -> BookFill:
    """Build the ladder in a fresh engine, send one market order of ``size``, measure it."""
    recorder = FillRecorder()
    engine = Engine([MarketConfig(MARKET, ladder.tick_size, ladder.lot_size)], recorder)
    sequencer = Sequencer(engine, ManualClock())
    ids = count(1)
    book = quotes(ladder, seed)
    post(sequencer, MARKET, MAKER, book, ids)
    matching = engine.markets[MARKET]
    best_bid, best_ask = matching.best_bid(), matching.best_ask()
    assert best_bid is not None and best_ask is not None
    mid = Fraction(best_bid + best_ask, 2)
    # the worst price is the far end of the ladder: the order may take the whole side
    resting = [quote.price for quote in book if quote.side is side.opposite]
    worst = max(resting) if side is Side.BUY else min(resting)
    taker = market_order(
        market=MARKET,
        order_id=OrderId(next(ids)),
        account=TAKER,
        side=side,
        worst_price=Price(worst),
        size=size,
    )
    sequencer.submit(taker)
    filled = sum(amount for _, amount in recorder.fills)
    # exact: the market grid makes tick * lot a multiple of SIZE_SCALE
    notional = div_floor(
        sum(price * amount for price, amount in recorder.fills), units().size_scale
    )
    fee = mul_div_ceil(notional, taker_fee_ppm, units().fraction_scale)
    levels = len({price for price, _ in recorder.fills})
    return BookFill(side, size, Size(filled), Collateral(notional), mid, levels, Collateral(fee))
