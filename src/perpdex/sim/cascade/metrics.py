"""The figures of one cascade run, from its chain events and final account states (pure,
so they are tested on synthetic event lists)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from perpdex.core.types import Collateral, Price
from perpdex.core.units import from_collateral_units, from_price_units, units


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
