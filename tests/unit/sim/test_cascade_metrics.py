"""Cascade figures from synthetic event lists, and the seeded scenario."""

from __future__ import annotations

import itertools

import pytest

from perpdex.core.types import Price
from perpdex.core.units import to_price_units, to_size_units, units
from perpdex.sim.cascade.metrics import AccountEnd, Forced, PricePush, Run, by_block, summary
from perpdex.sim.cascade.scenario import crash_path, traders
from perpdex.sim.commands.cascade import drop_ppm

P98, P95 = to_price_units("98000"), to_price_units("95000")
ONE = to_size_units("1")


def run(forced: list[Forced], accounts: list[AccountEnd], **other: object) -> Run:
    fields: dict[str, object] = {
        "prices": [PricePush(10, to_price_units("100000")), PricePush(11, P98), PricePush(13, P95)],
        "forced": forced,
        "insurance_draws": [],
        "latencies": [],
        "accounts": accounts,
    }
    return Run(**{**fields, **other})  # type: ignore[arg-type]


def test_a_partial_step_that_leaves_the_account_healthy_saves_it() -> None:
    figures = summary(
        run(
            [
                Forced("a", 12, ONE // 2, P98, full=False),
                Forced("b", 12, ONE // 4, P98, full=False),
                Forced("b", 14, 3 * ONE // 4, P95, full=True),
                Forced("c", 14, ONE, P95, full=False),
            ],
            [
                AccountEnd("a", True, 500, 400),
                AccountEnd("b", False, 0, 0),
                AccountEnd("c", True, 100, 400),  # still below maintenance: not saved
            ],
            latencies=[("a", 1), ("b", 1), ("b", 2), ("c", 1)],
        )
    )
    assert figures["liquidations"] == 4
    assert figures["partial_steps"] == 3 and figures["full_closures"] == 1
    assert figures["accounts_saved"] == 1
    assert figures["accounts_closed"] == 1
    # 0.5 * 98,000 + 0.25 * 98,000 + 0.75 * 95,000 + 1 * 95,000
    assert figures["forced_volume"] == 49_000 + 24_500 + 71_250 + 95_000
    assert figures["forced_volume_by_price"] == {"98000": 73_500.0, "95000": 166_250.0}
    assert figures["worst_price"] == 95_000.0
    assert figures["max_blocks_to_liquidation"] == 2
    assert figures["blocks_to_liquidation"] == {"a": 1, "b": 2, "c": 1}


def test_insurance_draws_bad_debt_and_deleveraging_are_kept_apart() -> None:
    figures = summary(
        run(
            [
                Forced("a", 12, ONE, P98, full=True),
                Forced("b", 12, ONE, P95, full=True, deleveraged=True),
            ],
            [AccountEnd("a", False, 0, 0), AccountEnd("b", False, -2_500_000, 0)],
            insurance_draws=[1_000_000, 250_000],
        )
    )
    assert figures["insurance_draw"] == 1.25
    assert figures["bad_debt"] == 2.5
    assert figures["forced_volume"] == 98_000  # deleveraging is not liquidation volume
    assert figures["deleveraged"] == 1 and figures["deleveraged_volume"] == 95_000
    assert figures["max_blocks_to_liquidation"] is None  # no latency sample


def test_forced_volume_is_summed_per_block() -> None:
    forced = [
        Forced("a", 12, ONE, P98, full=False),
        Forced("b", 12, ONE, P98, full=False),
        Forced("a", 14, ONE, P95, full=True),
    ]
    assert by_block(run(forced, [])) == [(12, 2 * P98), (14, P95)]


def test_the_crash_falls_by_the_drop_in_uneven_steps_and_holds_the_low() -> None:
    start, tick = to_price_units("100000"), to_price_units("0.1")
    path = crash_path(start, 120_000, 5, seed=1, tick=tick, hold=2)
    assert path[0] == start and path[5:] == [to_price_units("88000")] * 3
    assert all(a > b for a, b in itertools.pairwise(path[:6]))
    assert all(p % tick == 0 for p in path)
    assert crash_path(start, 120_000, 5, seed=1, tick=tick) == path  # seeded
    with pytest.raises(ValueError):
        crash_path(start, 0, 5, seed=1, tick=tick)


def test_traders_are_seeded_within_the_leverage_range_on_the_lot() -> None:
    price, lot = Price(to_price_units("100000")), to_size_units("0.0001")
    book = traders(50, 3, price, lot)
    assert book == traders(50, 3, price, lot)
    assert {t.leverage for t in book} <= set(range(5, 19))
    for t in book:
        assert t.size % lot == 0
        notional = t.size * price // units().size_scale
        assert notional <= t.collateral * t.leverage  # never above the leverage


def test_the_drop_is_a_percentage_in_ppm() -> None:
    assert drop_ppm("12") == 120_000 and drop_ppm("0.5") == 5_000
    for bad in ("x", "0", "100", "1.00001"):
        with pytest.raises(ValueError):
            drop_ppm(bad)
