"""The same market order against the order book and against an oracle-priced pool.

Both start from the same price: the pool's oracle price is the ladder's mid. The book takes
the order in base units (the notional at the mid, in whole lots) and its slippage is the
average fill price against the book's mid; the pool takes the notional itself (as GMX's
``sizeDeltaUsd``) and its slippage is the execution price against the oracle. Each trade
size runs against a fresh book and pool, so sizes do not affect each other. Fees are
reported beside the slippage, not inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from perpdex.core.types import Collateral, Side
from perpdex.core.units import (
    from_collateral_units,
    from_price_units,
    from_size_units,
    to_collateral_units,
    units,
)
from perpdex.sim.amm import FACTOR_SCALE, AmmFill, ImpactPool
from perpdex.sim.depth import (
    BookFill,
    Ladder,
    btc_perp,
    default_ladder,
    run_market_order,
    size_for_notional,
)

DEFAULT_NOTIONALS: tuple[Collateral, ...] = tuple(
    to_collateral_units(usd)
    for usd in (
        10_000,
        25_000,
        50_000,
        100_000,
        250_000,
        500_000,
        1_000_000,
        2_500_000,
        5_000_000,
        10_000_000,
        25_000_000,
        50_000_000,
    )
)
"""Trade sizes of the sweep (and the plot), collateral units."""


@dataclass(frozen=True, slots=True)
class Setup:
    """Everything a comparison depends on."""

    ladder: Ladder
    pool: ImpactPool
    seed: int
    side: Side
    taker_fee_ppm: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """One trade size on both venues."""

    notional: Collateral
    book: BookFill
    amm: AmmFill


def default_setup(seed: int, side: Side, amm_skew: Collateral) -> Setup:
    """The BTC-PERP ladder and GMX's BTC/USD impact parameters; ``amm_skew`` is the pool's
    open-interest imbalance before the trade (longs minus shorts, collateral units)."""
    ladder = default_ladder()
    pool = ImpactPool(
        ladder.mid,
        long_open_interest=Collateral(max(amm_skew, 0)),
        short_open_interest=Collateral(max(-amm_skew, 0)),
    )
    return Setup(ladder, pool, seed, side, btc_perp().taker_fee_ppm)


def compare(setup: Setup, notional: Collateral) -> Comparison:
    size = size_for_notional(setup.ladder, notional)
    if size <= 0:
        usd = from_collateral_units(notional).normalize()
        raise ValueError(f"a notional of {usd:f} USDC is below one lot")
    book = run_market_order(setup.ladder, setup.seed, setup.side, size, setup.taker_fee_ppm)
    return Comparison(notional, book, setup.pool.open(setup.side, notional))


def sweep(setup: Setup, notionals: tuple[Collateral, ...]) -> list[Comparison]:
    """Each distinct size once, smallest first."""
    return [compare(setup, notional) for notional in sorted(set(notionals))]


def report(result: Comparison, setup: Setup) -> dict[str, Any]:
    """One comparison as JSON-ready values (USDC and BTC as numbers, basis points)."""
    book, amm = result.book, result.amm
    return {
        "notional": _number(from_collateral_units(result.notional)),
        "side": setup.side.name.lower(),
        "book_slippage_bps": _bps(book.slippage_bps),
        "amm_slippage_bps": _bps(amm.slippage_bps),
        "book_filled": book.complete,
        "book_size_btc": _number(from_size_units(book.size)),
        "book_filled_btc": _number(from_size_units(book.filled)),
        "book_filled_notional": _number(from_collateral_units(book.notional)),
        "book_levels_consumed": book.levels_consumed,
        "book_average_price": _price(book.average_price),
        "book_mid": _price(book.mid),
        "amm_size_btc": _number(from_size_units(amm.size)),
        "amm_execution_price": _price(amm.execution_price),
        "amm_price_impact_usd": _number(from_collateral_units(Collateral(-amm.price_impact))),
        "book_fee_bps": _bps(book.fee_bps),
        "amm_fee_bps": _bps(amm.fee_bps),
        "book_total_cost_bps": _bps(book.slippage_bps + book.fee_bps),
        "amm_total_cost_bps": _bps(amm.slippage_bps + amm.fee_bps),
        "params": parameters(setup),
    }


def parameters(setup: Setup) -> dict[str, Any]:
    ladder, pool, scale = setup.ladder, setup.pool, units().fraction_scale
    ppm_to_bps = Fraction(10_000, scale)
    return {
        "seed": setup.seed,
        "oracle_price": _number(from_price_units(pool.oracle_price)),
        "book": {
            "market": btc_perp().symbol,
            "tick_size": _number(from_price_units(ladder.tick_size)),
            "lot_size_btc": _number(from_size_units(ladder.lot_size)),
            "levels_per_side": ladder.levels,
            "half_spread_bps": _bps(ladder.half_spread_ppm * ppm_to_bps),
            "level_step_bps": _bps(ladder.level_step_ppm * ppm_to_bps),
            "base_size_btc": _number(from_size_units(ladder.base_size)),
            "size_growth_per_level": ladder.growth_ppm / scale,
            "size_jitter": ladder.jitter_ppm / scale,
            "taker_fee_bps": _bps(setup.taker_fee_ppm * ppm_to_bps),
        },
        "amm": {
            "model": "GMX v2 position price impact, BTC/USD factors",
            "long_open_interest": _number(from_collateral_units(pool.long_open_interest)),
            "short_open_interest": _number(from_collateral_units(pool.short_open_interest)),
            "positive_impact_factor": pool.positive_factor / FACTOR_SCALE,
            "negative_impact_factor": pool.negative_factor / FACTOR_SCALE,
            "impact_exponent": pool.exponent,
            "max_positive_impact_bps": _bps(pool.max_positive_impact_ppm * ppm_to_bps),
            "fee_bps_positive_impact": _bps(pool.fee_ppm_positive_impact * ppm_to_bps),
            "fee_bps_negative_impact": _bps(pool.fee_ppm_negative_impact * ppm_to_bps),
        },
    }


def _bps(value: Fraction) -> float:
    return round(float(value), 4)


def _price(value: Fraction) -> int | float:
    return _number(round(float(value / 10 ** units().price_decimals), 4))


def _number(value: Decimal | float) -> int | float:
    """A human amount for JSON: an int when whole (notional 500000), else a float."""
    return int(value) if value == int(value) else float(value)
