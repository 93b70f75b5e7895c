"""The figures of a market run as one JSON object (pure: money and prices stay integers
until they are printed; ratios are exact fractions until then)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from perpdex.core.types import Collateral, Price, Size
from perpdex.core.units import from_collateral_units, from_size_units, units
from perpdex.sim.market.hedges import HedgeFill
from perpdex.sim.market.observer import BookSample, IndexSample
from perpdex.sim.market.scenario import MarketRun

BPS = 10_000


def percentile(values: Sequence[float], fraction: Fraction) -> float:
    """Nearest rank: the smallest value with at least ``fraction`` of them at or below."""
    ordered = sorted(values)
    rank = max(1, -(-fraction * len(ordered) // 1))
    return ordered[int(rank) - 1]


def latency_figures(seconds: Sequence[float]) -> dict[str, float | int | None]:
    if not seconds:
        return {"count": 0, "p50": None, "p99": None, "max": None, "mean": None}
    return {
        "count": len(seconds),
        "p50": round(percentile(seconds, Fraction(1, 2)), 3),
        "p99": round(percentile(seconds, Fraction(99, 100)), 3),
        "max": round(max(seconds), 3),
        "mean": round(sum(seconds) / len(seconds), 3),
    }


def index_at(samples: Sequence[IndexSample], at: float) -> Price | None:
    """The last index price observed at or before ``at``."""
    seen = [s.price for s in samples if s.at <= at]
    return seen[-1] if seen else None


@dataclass(frozen=True, slots=True)
class BookPoint:
    """The book and the index at one moment."""

    at: float
    best_bid: Price
    best_ask: Price
    index: Price

    @property
    def mid(self) -> Fraction:
        return Fraction(self.best_bid + self.best_ask, 2)


def book_point(sample: BookSample | None, index: Sequence[IndexSample]) -> BookPoint | None:
    if sample is None or sample.best_bid is None or sample.best_ask is None:
        return None
    price = index_at(index, sample.at)
    if price is None:
        return None
    return BookPoint(sample.at, sample.best_bid, sample.best_ask, price)


def before(books: Sequence[BookSample], at: float) -> BookSample | None:
    """The last two-sided book seen before ``at``."""
    seen = [b for b in books if b.at < at and b.best_bid is not None and b.best_ask is not None]
    return seen[-1] if seen else None


def after(books: Sequence[BookSample], at: float) -> BookSample | None:
    """The first book seen after ``at`` (a match's book update leaves at the end of the
    gateway's loop turn, before any reaction to it can come back)."""
    return next((b for b in books if b.at > at), None)


def bps(value: Fraction, reference: Fraction) -> float:
    return round(float((value - reference) / reference * BPS), 2)


def hedge_figures(fills: Sequence[HedgeFill], index: Sequence[IndexSample]) -> dict[str, object]:
    """Volume, VWAP and the VWAP against the index each fill met (size-weighted, over the
    fills with an index observed before them)."""
    volume = sum(f.size for f in fills)
    if not volume:
        return {"hedge_fills": 0, "hedge_volume": 0.0, "hedge_vwap": None}
    paid = sum(f.price * f.size for f in fills)
    priced = [(p, f) for f in fills if (p := index_at(index, f.at)) is not None]
    priced_volume = sum(f.size for _, f in priced)
    against = None
    if priced_volume:
        priced_vwap = Fraction(sum(f.price * f.size for _, f in priced), priced_volume)
        against = bps(priced_vwap, Fraction(sum(p * f.size for p, f in priced), priced_volume))
    return {
        "hedge_fills": len(fills),
        "hedge_volume": float(from_size_units(Size(volume))),
        "hedge_notional": usdc(paid // units().size_scale),
        "hedge_vwap": price(Fraction(paid, volume)),
        "hedge_vwap_vs_index_bps": against,
    }


def usdc(amount: int) -> float:
    return float(from_collateral_units(Collateral(amount)))


def price(value: Fraction | int) -> float:
    return round(float(Fraction(value) / 10 ** units().price_decimals), 4)


def book_figures(point: BookPoint | None) -> dict[str, float] | None:
    if point is None:
        return None
    return {
        "best_bid": price(point.best_bid),
        "best_ask": price(point.best_ask),
        "mid": price(point.mid),
        "index": price(point.index),
        "best_bid_vs_index_bps": bps(Fraction(point.best_bid), Fraction(point.index)),
        "mid_vs_index_bps": bps(point.mid, Fraction(point.index)),
    }


def impact(
    start: BookPoint | None, end: BookPoint | None
) -> dict[str, dict[str, float] | float | None]:
    """The book before the crash and right after the last hedge; the price impact of the
    forced selling is how much further the book fell than the index did."""
    figures: dict[str, dict[str, float] | float | None] = {
        "book_before_crash": book_figures(start),
        "book_after_hedges": book_figures(end),
    }
    if start is not None and end is not None:
        figures["best_bid_change_bps"] = bps(Fraction(end.best_bid), Fraction(start.best_bid))
        figures["mid_change_bps"] = bps(end.mid, start.mid)
        figures["index_change_bps"] = bps(Fraction(end.index), Fraction(start.index))
    return figures


def report(run: MarketRun) -> dict[str, object]:
    latency, params = run.latency, run.params
    observer = run.observer
    crash_at = run.started + params.crash_at_s
    start = book_point(before(observer.books, crash_at), observer.index)
    last_hedge = run.hedges.fills[-1].at if run.hedges.fills else None
    end = (
        None
        if last_hedge is None
        else book_point(after(observer.books, last_hedge), observer.index)
    )
    transactions = len(latency.transactions)
    chain = run.chain
    return {
        "orders_sent": sum(run.orders.values()),
        "orders_by_bot": run.orders,
        "orders_refused": run.refused,
        "fills": latency.fills,
        "fills_settled": len(latency.settled),
        "fills_rejected": latency.rejected.total(),
        "rejected_reasons": dict(latency.rejected),
        "fills_waiting": latency.waiting(),
        "match_to_settled_s": latency_figures(latency.seconds()),
        "settlement_transactions": transactions,
        "fills_per_transaction": round(len(latency.settled) / transactions, 2)
        if transactions
        else None,
        "liquidations": chain.liquidations,
        "full_closures": chain.full_closures,
        "accounts_liquidated": chain.accounts_liquidated,
        "insurance_draw": usdc(chain.insurance_draw),
        "keeper_taken_over": float(from_size_units(chain.keeper_taken_over)),
        "keeper_position_end": float(from_size_units(chain.keeper_position)),
        "hedge_orders": run.hedges.orders,
        "hedge_orders_refused": run.hedges.refused,
        **hedge_figures(run.hedges.fills, observer.index),
        **impact(start, end),
        "offchain_equals_chain": not run.differences,
        "differences": run.differences,
        "timings_s": {name: round(value, 1) for name, value in run.timings.items()},
        "params": {
            "market": "BTC-PERP",
            "seed": params.seed,
            "crash_pct": params.crash_ppm / 10_000,
            "crash_at_s": params.crash_at_s,
            "after_s": params.after_s,
            "block_time_s": params.block_time,
            "takers": params.takers,
            "crowd": params.crowd,
            "volatility_ppm": params.volatility_ppm,
            "fills_target": params.fills,
        },
    }
