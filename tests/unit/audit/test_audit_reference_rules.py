"""The reference matcher's rules one by one (docs/engine.md), each with the fills it gives:
what the audit's priority check holds the engine to."""

from __future__ import annotations

import pytest

from perpdex.audit.reference import Reference, RefFill
from perpdex.core.types import Address, ClientOrderId, MarketId, OrderId, Price, Side, Size
from perpdex.core.types import TimeInForce as Tif
from perpdex.core.types import TriggerDirection as Trigger
from perpdex.engine.commands import (
    Amend,
    Cancel,
    CancelByClientId,
    ChainCancel,
    Command,
    IndexPrice,
    NewOrder,
    SetDeadMan,
    StpMode,
    Tick,
)
from perpdex.engine.config import MarketConfig
from perpdex.engine.errors import CancelReason

M = MarketId(0)
A, B, C = (Address(f"0x{n:040x}") for n in (1, 2, 3))


def order(
    order_id: int, account: Address, side: Side, price: int, size: int = 1, **terms: object
) -> NewOrder:
    return NewOrder(
        market=M,
        order_id=OrderId(order_id),
        account=account,
        side=side,
        price=Price(price),
        size=Size(size),
        **terms,  # type: ignore[arg-type]
    )


def fills(*commands: Command | tuple[int, Command]) -> list[tuple[int, int, int, int]]:
    """(taker id, maker id, price, size) of every fill; a command may come with its time."""
    found: list[RefFill] = []
    reference = Reference([MarketConfig(M)], lambda fill, _: found.append(fill))
    for seq, item in enumerate(commands, start=1):
        time, command = item if isinstance(item, tuple) else (seq * 10, item)
        reference.apply(seq, time, command)
    return [(f.taker.order_id, f.maker.order_id, f.price, f.size) for f in found]


BUY, SELL = Side.BUY, Side.SELL


def test_better_price_first_then_earlier_at_one_price_at_the_makers_price() -> None:
    assert fills(
        order(1, A, SELL, 101),
        order(2, B, SELL, 100),
        order(3, C, SELL, 100),
        order(4, A, SELL, 100),
        order(5, C, BUY, 101, 4, tif=Tif.IOC, stp=StpMode.CANCEL_RESTING),
    ) == [(5, 2, 100, 1), (5, 4, 100, 1), (5, 1, 101, 1)]  # 3 is the taker's own: cancelled


def test_ioc_drops_its_rest_gtc_rests_post_only_that_would_cross_is_refused() -> None:
    assert fills(
        order(1, A, SELL, 100),
        order(2, B, BUY, 100, 2, tif=Tif.IOC),
        order(3, A, SELL, 100),
        order(4, C, BUY, 100, tif=Tif.POST_ONLY),
        order(5, C, BUY, 99, 2),
        order(6, A, SELL, 99, tif=Tif.POST_ONLY),
        order(7, B, SELL, 99, 3),
    ) == [(2, 1, 100, 1), (7, 5, 99, 2)]


@pytest.mark.parametrize(("size", "expected"), [(2, [(3, 1, 100, 1), (3, 2, 101, 1)]), (3, [])])
def test_fill_or_kill_fills_whole_or_not_at_all(size: int, expected: list[object]) -> None:
    assert (
        fills(
            order(1, A, SELL, 100),
            order(2, B, SELL, 101),
            order(3, C, BUY, 101, size, tif=Tif.FOK),
        )
        == expected
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (StpMode.CANCEL_RESTING, [(3, 2, 101, 1)]),
        (StpMode.CANCEL_TAKER, []),
        (StpMode.CANCEL_BOTH, []),
    ],
)
def test_self_trade_prevention(mode: StpMode, expected: list[object]) -> None:
    commands = [order(1, A, SELL, 100), order(2, B, SELL, 101), order(3, A, BUY, 101, stp=mode)]
    assert fills(*commands) == expected
    # after CANCEL_TAKER the own maker still rests; after CANCEL_BOTH it is gone
    after = fills(*commands, order(4, C, BUY, 100))
    assert after[len(expected) :] == ([(4, 1, 100, 1)] if mode is StpMode.CANCEL_TAKER else [])


def test_reduce_only_is_clipped_to_the_position_less_other_reduce_only_orders() -> None:
    assert fills(
        order(1, A, SELL, 100, 5, reduce_only=True, position=3),
        order(2, A, SELL, 100, 5, reduce_only=True, position=3),  # nothing left: refused
        order(3, A, BUY, 100, 5, reduce_only=True, position=3),  # would grow: refused
        order(4, B, BUY, 100, 5),
    ) == [(4, 1, 100, 3)]


def test_cancels_expiry_and_the_dead_man_switch_take_orders_off() -> None:
    assert (
        fills(
            (10, order(1, A, SELL, 100)),
            (11, order(2, B, SELL, 100, client_id=ClientOrderId("b"))),
            (12, order(3, C, SELL, 100, expiry=50)),
            (13, order(4, C, SELL, 101)),
            (14, SetDeadMan(C, 40)),
            (15, order(5, A, SELL, 102)),
            (16, Cancel(M, OrderId(1))),
            (17, CancelByClientId(M, B, ClientOrderId("b"))),
            (18, ChainCancel(orders=((M, OrderId(5)),), reason=CancelReason.ON_CHAIN)),
            (45, Tick()),  # the switch (due 40) cancels C's two orders
            (60, order(6, B, BUY, 102, 3)),
        )
        == []
    )


def test_an_amend_keeps_priority_only_when_it_shrinks_at_the_same_price() -> None:
    base = [order(1, A, SELL, 100, 2), order(2, B, SELL, 100, 2)]
    kept = Amend(market=M, order_id=OrderId(1), price=Price(100), size=Size(1))
    lost = Amend(market=M, order_id=OrderId(1), price=Price(100), size=Size(3))
    taker = order(3, C, BUY, 100)
    assert fills(*base, kept, taker) == [(3, 1, 100, 1)]
    assert fills(*base, lost, taker) == [(3, 2, 100, 1)]


def test_trigger_orders_wait_for_the_index_and_are_released_nearest_first() -> None:
    stop = {"trigger": Trigger.AT_OR_BELOW, "tif": Tif.IOC}
    assert fills(
        order(1, A, BUY, 95, 3),
        IndexPrice(market=M, price=Price(100)),
        order(2, B, SELL, 90, trigger_price=Price(96), **stop),
        order(3, C, SELL, 90, trigger_price=Price(98), **stop),
        IndexPrice(market=M, price=Price(99)),  # crosses neither yet
        IndexPrice(market=M, price=Price(95)),  # releases 3 (98) before 2 (96)
    ) == [(3, 1, 95, 1), (2, 1, 95, 1)]
