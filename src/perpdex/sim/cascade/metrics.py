"""The figures of one cascade run, from its chain events and final account states (pure,
so they are tested on synthetic event lists)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from perpdex.core.types import Collateral, Price, Size
from perpdex.core.units import from_collateral_units, from_price_units, from_size_units, units


@dataclass(frozen=True, slots=True)
class PricePush:
    block: int
    price: Price


@dataclass(frozen=True, slots=True)
class Forced:
    """A ``Liquidated`` step, or a ``Deleveraged`` closure (``deleveraged``)."""

    trader: str
    block: int
    size: int
    """Size units closed (the event's sign dropped)."""
    price: Price
    full: bool
    deleveraged: bool = False


@dataclass(frozen=True, slots=True)
class AccountEnd:
    trader: str
    open: bool
    equity: int
    maintenance: int


@dataclass(frozen=True, slots=True)
class Run:
    prices: Sequence[PricePush]
    forced: Sequence[Forced]
    insurance_draws: Sequence[int]
    latencies: Sequence[tuple[str, int]]
    """(trader, blocks) per liquidation episode, as the keeper measured them."""
    accounts: Sequence[AccountEnd]


def notional(item: Forced) -> int:
    """Collateral units, rounded down once per step."""
    return item.size * item.price // units().size_scale


def usdc(amount: int) -> float:
    return float(from_collateral_units(Collateral(amount)))


def saved(run: Run) -> list[str]:
    """Traders kept open and at maintenance after at least one partial step."""
    partial = {f.trader for f in run.forced if not f.full and not f.deleveraged}
    return [
        a.trader
        for a in run.accounts
        if a.trader in partial and a.open and a.equity >= a.maintenance
    ]


def by_price(run: Run) -> dict[str, float]:
    """Liquidated volume per index price it happened at, in USDC, highest price first."""
    volume: dict[Price, int] = defaultdict(int)
    for item in run.forced:
        if item.deleveraged:
            continue
        volume[item.price] += notional(item)
    return {
        format(from_price_units(price).normalize(), "f"): usdc(amount)
        for price, amount in sorted(volume.items(), reverse=True)
    }


def by_block(run: Run) -> list[tuple[int, int]]:
    """(block, forced volume in collateral units) for every block with forced volume."""
    volume: dict[int, int] = defaultdict(int)
    for item in run.forced:
        volume[item.block] += notional(item)
    return sorted(volume.items())


def summary(run: Run) -> dict[str, object]:
    """The JSON figures of one policy (money in USDC, prices in USD)."""
    steps = [f for f in run.forced if not f.deleveraged]
    deleveraged = [f for f in run.forced if f.deleveraged]
    per_account: dict[str, int] = {}
    for trader, blocks in run.latencies:
        per_account[trader] = max(blocks, per_account.get(trader, 0))
    return {
        "liquidations": len(steps),
        "partial_steps": sum(1 for f in steps if not f.full),
        "full_closures": sum(1 for f in steps if f.full),
        "accounts_liquidated": len({f.trader for f in steps}),
        "accounts_closed": sum(1 for a in run.accounts if not a.open),
        "accounts_saved": len(saved(run)),
        "forced_volume": usdc(sum(notional(f) for f in steps)),
        "deleveraged": len(deleveraged),
        "deleveraged_volume": usdc(sum(notional(f) for f in deleveraged)),
        "worst_price": float(from_price_units(min(p.price for p in run.prices))),
        "insurance_draw": usdc(sum(run.insurance_draws)),
        "bad_debt": usdc(sum(-a.equity for a in run.accounts if a.equity < 0)),
        "max_blocks_to_liquidation": max(per_account.values(), default=None),
        "blocks_to_liquidation": dict(sorted(per_account.items())),
        "forced_volume_by_price": by_price(run),
    }


# -- the feedback cascade -----------------------------------------------------------------

LEVEL = 1_000
"""Width of a price level in the feedback report, USD."""


@dataclass(frozen=True, slots=True)
class Sale:
    """One fill of the keeper's forced sale on the book: ``size`` units at ``price``."""

    price: Price
    size: int


@dataclass(frozen=True, slots=True)
class Round:
    """One round of the feedback cascade (``perpdex.sim.cascade.feedback``)."""

    external: Price
    reference: Price
    """The maker's mid when it posted its ladder this round."""
    index: Price
    """The price pushed to the oracle this round."""
    sales: Sequence[Sale]
    book: int
    """The book's price after the round's sales, in price units."""


@dataclass(frozen=True, slots=True)
class FeedbackRun:
    run: Run
    """``run.prices`` holds one push per round, in round order."""
    rounds: Sequence[Round]
    unsold: int
    """Size units the keeper took over and had not sold on the book at the end."""
    at_rest: bool
    """The last round had no liquidation and no sale (False: the round cap ended it)."""


def sales_notional(sales: Sequence[Sale]) -> int:
    """Collateral units, exact: the market grid makes tick * lot a multiple of SIZE_SCALE."""
    return sum(sale.price * sale.size for sale in sales) // units().size_scale


def level(price: Price) -> str:
    """The :data:`LEVEL`-wide band ``price`` falls in, named by its lower bound in USD."""
    return str(int(from_price_units(price)) // LEVEL * LEVEL)


def by_round(feedback: FeedbackRun) -> list[int]:
    """Liquidated volume per round, collateral units: a step belongs to the round of the
    last push at or before its block."""
    starts = [push.block for push in feedback.run.prices]
    volume = [0] * len(starts)
    for item in feedback.run.forced:
        if not item.deleveraged:
            volume[bisect_right(starts, item.block) - 1] += notional(item)
    return volume


def _by_level(items: Sequence[tuple[Price, int]]) -> dict[str, float]:
    volume: dict[int, int] = defaultdict(int)
    for price, amount in items:
        volume[int(level(price))] += amount
    return {str(band): usdc(amount) for band, amount in sorted(volume.items(), reverse=True)}


def forced_by_level(run: Run) -> dict[str, float]:
    """Liquidated volume per :data:`LEVEL`-wide band of the index price, USDC, highest
    first."""
    return _by_level([(f.price, notional(f)) for f in run.forced if not f.deleveraged])


def _pct_below(start: Price, price: int) -> float:
    """How far ``price`` is under ``start``, in percent of ``start`` (4 decimals)."""
    return round(float(Fraction(100 * (start - price), start)), 4)


def feedback_summary(feedback: FeedbackRun) -> dict[str, object]:
    """The JSON figures of one policy with feedback: :func:`summary` without the latency
    (a round's blocks are the keeper's own transactions, mined one by one), plus the
    drawdown against the external path and the book sales."""
    figures = summary(feedback.run)
    del figures["max_blocks_to_liquidation"], figures["blocks_to_liquidation"]
    rounds = feedback.rounds
    start, first, last = rounds[0].external, rounds[0], rounds[-1]
    sales = [sale for r in rounds for sale in r.sales]
    sold = sum(sale.size for sale in sales)
    return {
        **figures,
        "rounds": len(rounds),
        "at_rest": feedback.at_rest,
        "start_price": float(from_price_units(first.index)),
        "external_low": float(from_price_units(min(r.external for r in rounds))),
        "index_low": float(from_price_units(min(r.index for r in rounds))),
        "external_final": float(from_price_units(last.external)),
        "index_final": float(from_price_units(last.index)),
        "external_drawdown_pct": _pct_below(start, last.external),
        "index_drawdown_pct": _pct_below(start, last.index),
        # the part of the final drawdown the liquidations' own selling caused, in points
        # of the opening price: index_drawdown_pct = external_drawdown_pct + this
        "drawdown_from_liquidations_pct": _pct_below(start, start - last.external + last.index),
        "book_sales": float(from_size_units(Size(sold))),
        "book_sales_notional": usdc(sales_notional(sales)),
        "book_sales_vwap": float(
            from_price_units(Price(sales_notional(sales) * units().size_scale // sold))
        )
        if sold
        else None,
        "keeper_unsold": float(from_size_units(Size(feedback.unsold))),
        "forced_volume_by_level": forced_by_level(feedback.run),
        "book_sales_by_level": _by_level([(s.price, sales_notional([s])) for s in sales]),
        "by_round": [
            {
                "external": float(from_price_units(r.external)),
                "maker_mid": float(from_price_units(r.reference)),
                "index": float(from_price_units(r.index)),
                "book_after": float(from_price_units(Price(r.book))),
                "liquidated": usdc(volume),
                "sold": float(from_size_units(Size(sum(sale.size for sale in r.sales)))),
            }
            for r, volume in zip(rounds, by_round(feedback), strict=True)
        ],
    }
