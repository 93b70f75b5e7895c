"""Sizing ``settle`` batches by gas, not by count.

How much a fill costs depends on who trades: a trader's first fill writes fresh storage
(about three times the gas of a steady-state fill), and a maker filled many times in one
batch is verified once. So a batch is grown to the largest prefix of the pending matches
whose *estimated* gas (``eth_estimateGas`` against the chain, injected here) stays under
the per-transaction cap, with headroom for state that changes before it is mined.

A batch never ends inside the fills of one fill-or-kill order: the contract settles an FOK
order only if the fills of one batch complete it, and the engine makes all of them in one
command (adjacent in the pending list).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from perpdex.core.types import TimeInForce
from perpdex.settlement.encoding import Batch, BatchFullError, BatchLimits, Match

TRANSACTION_GAS_CAP = 16_777_216
"""Ethereum's per-transaction gas cap (EIP-7825, 2**24)."""

HEADROOM_PPM = 50_000
"""Keep 5% under the cap: the estimate is taken against state that may still change."""


class FillOverGasError(ValueError):
    """A single fill needs more gas than the budget: no batch can carry it."""

    def __init__(self, match: Match, budget: int) -> None:
        super().__init__(f"the fill alone needs more than {budget} gas")
        self.match = match


def plan_batches(
    matches: Sequence[Match],
    *,
    limits: BatchLimits,
    estimate_gas: Callable[[Batch], int],
    gas_cap: int = TRANSACTION_GAS_CAP,
) -> list[Batch]:
    """Split ``matches``, in order, into batches that each fit the contract's array bounds
    and ``gas_cap`` less headroom. Raises FillOverGasError if a single fill does not fit;
    ``estimate_gas`` may raise to name a batch that cannot be sent (see the batcher)."""
    budget = gas_cap - gas_cap * HEADROOM_PPM // 1_000_000
    batches: list[Batch] = []
    start = 0
    while start < len(matches):
        most = _count_that_fits(matches, start, limits)
        batch = Batch.of(matches[start : start + most], limits)
        if estimate_gas(batch) > budget:
            # binary search the largest prefix under the budget: fits(low), not fits(high)
            low, high = 0, most
            while high - low > 1:
                middle = (low + high) // 2
                candidate = Batch.of(matches[start : start + middle], limits)
                if estimate_gas(candidate) <= budget:
                    low, batch = middle, candidate
                else:
                    high = middle
            if low == 0:
                raise FillOverGasError(matches[start], budget)
            most = low
        whole = _whole_fok(matches, start, most)
        if whole != most:
            most = whole
            batch = Batch.of(matches[start : start + most], limits)
        batches.append(batch)
        start += most
    return batches


def _count_that_fits(matches: Sequence[Match], start: int, limits: BatchLimits) -> int:
    probe = Batch(limits)
    for count, match in enumerate(matches[start:]):
        try:
            probe.add(match)
        except BatchFullError:
            return count
    return len(matches) - start


def _whole_fok(matches: Sequence[Match], start: int, count: int) -> int:
    """``count``, or fewer so that the batch does not end inside the fills of one FOK order
    (unless that order's fills alone fill it: then they could never settle together)."""
    end = start + count
    if end >= len(matches):
        return count
    taker = matches[end].taker
    if taker.order.time_in_force is not TimeInForce.FOK:
        return count
    cut = end
    while cut > start and matches[cut - 1].taker.order_hash == taker.order_hash:
        cut -= 1
    return cut - start if cut > start else count
