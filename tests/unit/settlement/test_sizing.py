"""``plan_batches``: batches follow from gas, and from the contract's array bounds."""

from __future__ import annotations

import pytest

from perpdex.core.eip712 import ChainId, Eip712Domain, Nonce, Order, SignedOrder, sign_order
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    Price,
    Size,
    TimeInForce,
    TriggerDirection,
)
from perpdex.settlement.encoding import Batch, BatchLimits, Match
from perpdex.settlement.sizing import HEADROOM_PPM, plan_batches

DOMAIN = Eip712Domain(ChainId(31337), Address("0x000000000000000000000000000000000000dEaD"))
BASE_GAS, ORDER_GAS, FILL_GAS = 21_000, 30_000, 10_000
LIMITS = BatchLimits(orders=512, fills=256, triggers=64)


def signed(
    role: str,
    nonce: int,
    is_buy: bool,
    tif: TimeInForce = TimeInForce.GTC,
    trigger: TriggerDirection = TriggerDirection.NONE,
) -> SignedOrder:
    key = SigningKey(keccak256(role.encode()))
    order = Order(
        trader=key.address,
        market=MarketId(0),
        is_buy=is_buy,
        size=Size(10**8),
        limit_price=Price(10**11),
        max_fee_ppm=500,  # type: ignore[arg-type]
        margin_mode=MarginMode.CROSS,
        time_in_force=tif,
        reduce_only=False,
        expiry=2**40,  # type: ignore[arg-type]
        nonce=Nonce(nonce),
        trigger_price=Price(10**11 if trigger else 0),
        trigger_direction=trigger,
    )
    return sign_order(order, key, DOMAIN)


TERMS = (Price(10**11), Size(10**6))


def gas(batch: Batch) -> int:
    """A linear cost model standing in for eth_estimateGas: orders cost more than fills."""
    return BASE_GAS + ORDER_GAS * len(batch.orders) + FILL_GAS * len(batch.fills)


def matches(count: int, *, shared_maker: bool) -> list[Match]:
    maker = signed("maker", 0, False)
    return [
        Match(
            maker=maker if shared_maker else signed(f"maker {i}", 0, False),
            taker=signed(f"taker {i}", 0, True),
            price=Price(10**11),
            size=Size(10**6),
        )
        for i in range(count)
    ]


def test_batches_stay_under_the_cap_with_headroom() -> None:
    cap = 1_000_000
    pending = matches(40, shared_maker=False)
    batches = plan_batches(pending, limits=LIMITS, estimate_gas=gas, gas_cap=cap)
    budget = cap - cap * HEADROOM_PPM // 1_000_000
    assert all(gas(batch) <= budget for batch in batches)
    # each batch is as large as the budget allows: one more fill would not fit
    assert all(gas(batch) + 2 * ORDER_GAS + FILL_GAS > budget for batch in batches[:-1])
    assert [m for batch in batches for m in batch.matches] == pending


def test_shared_maker_fits_more_fills_per_batch() -> None:
    cap = 1_000_000
    distinct = plan_batches(
        matches(40, shared_maker=False),
        limits=LIMITS,
        estimate_gas=gas,
        gas_cap=cap,
    )
    shared = plan_batches(
        matches(40, shared_maker=True), limits=LIMITS, estimate_gas=gas, gas_cap=cap
    )
    assert len(shared[0].fills) > len(distinct[0].fills)
    assert len(shared[0].orders) == len(shared[0].fills) + 1  # the maker is sent once


def test_array_bounds_limit_a_cheap_batch() -> None:
    batches = plan_batches(
        matches(7, shared_maker=False),
        limits=BatchLimits(orders=6, fills=256, triggers=64),
        estimate_gas=gas,
    )
    assert [len(batch.fills) for batch in batches] == [3, 3, 1]


def test_the_trigger_bound_limits_a_batch_of_trigger_orders() -> None:
    stop = TriggerDirection.AT_OR_BELOW
    stops = [
        Match(signed("maker", 0, True), signed(f"stop {i}", 0, False, trigger=stop), *TERMS)
        for i in range(5)
    ]
    plain = Match(signed("maker", 0, True), signed("plain", 0, False), *TERMS)
    batches = plan_batches(
        [*stops, plain],
        limits=BatchLimits(orders=512, fills=256, triggers=2),
        estimate_gas=gas,
    )
    assert [len(batch.fills) for batch in batches] == [2, 2, 2]
    assert [len(batch.triggers) for batch in batches] == [2, 2, 1]


def test_a_fill_too_large_for_any_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="alone needs more than"):
        plan_batches(
            matches(1, shared_maker=False),
            limits=LIMITS,
            estimate_gas=gas,
            gas_cap=50_000,
        )


def test_a_batch_never_splits_the_fills_of_a_fill_or_kill_order() -> None:
    def fill(maker: str, taker: SignedOrder) -> Match:
        return Match(signed(maker, 0, False), taker, Price(10**11), Size(10**6))

    # an FOK taker matched against 4 makers in one command: 4 adjacent fills
    fok = signed("fok taker", 0, True, TimeInForce.FOK)
    before = [fill(f"maker {i}", signed(f"taker {i}", 0, True)) for i in range(3)]
    swept = [fill(f"swept maker {i}", fok) for i in range(4)]
    after = [fill(f"maker {i}", signed(f"taker {i}", 0, True)) for i in range(3, 6)]
    pending = [*before, *swept, *after]
    # room for 11 orders and 5 fills: without the rule the batch ends after 2 of the 4
    cap = (BASE_GAS + 11 * ORDER_GAS + 5 * FILL_GAS) * 1_000_000 // (1_000_000 - HEADROOM_PPM)
    batches = plan_batches(pending, limits=LIMITS, estimate_gas=gas, gas_cap=cap)
    assert [m for batch in batches for m in batch.matches] == pending
    holding = [batch for batch in batches if any(m.taker is fok for m in batch.matches)]
    assert len(holding) == 1 and sum(m.taker is fok for m in holding[0].matches) == 4
    assert len(batches[0].matches) == 3  # ended before the FOK's fills
