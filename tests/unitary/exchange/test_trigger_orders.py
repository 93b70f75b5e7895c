"""Trigger orders (stop-loss, take-profit): a fill of one stands only while the market's oracle
price is on the signed side of its trigger price, whatever the operator sends.

The operator is the attacker here: it profits from firing a stop early (it can fill the
trader at a price the trader did not accept yet), so it tries plain, early, stripped and
altered triggers, and reduce-only triggers larger than the position.
"""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unitary.exchange.venue import (
    BTC,
    USDC,
    Actor,
    Venue,
    actor,
    events,
    match,
    rejection_reasons,
)

from perpdex.core.eip712 import SignedOrder
from perpdex.core.types import MarketId, Price, TriggerDirection
from perpdex.settlement.encoding import Batch, Match, pack_fill, pack_order, pack_trigger

PRICE = BTC.index_price
TICK = BTC.tick_size
LOT = BTC.lot_size
ABOVE, BELOW = TriggerDirection.AT_OR_ABOVE, TriggerDirection.AT_OR_BELOW
# the trigger order's limit: far enough that only the trigger decides (a released stop is a
# marketable order with a signed worst price)
WORST = {True: 2 * PRICE, False: PRICE // 2}


@pytest.fixture
def funded(venue: Venue, maker: Actor, trader: Actor) -> Venue:
    venue.fund(maker, 100_000 * USDC)
    venue.fund(trader, 100_000 * USDC)
    return venue


def reached(direction: TriggerDirection, trigger: int, oracle: int) -> bool:
    """The model of the rule: what the trigger order signed."""
    return oracle >= trigger if direction is ABOVE else oracle <= trigger


@dataclass(frozen=True)
class TriggerFill:
    """The trigger order of ``trader`` and the plain order of ``maker`` it fills against."""

    trigger_order: SignedOrder
    counter_order: SignedOrder
    as_maker: bool

    def match(self, size: int | None = None) -> Match:
        if self.as_maker:
            return match(self.trigger_order, self.counter_order, price=self.price, size=size)
        return match(self.counter_order, self.trigger_order, price=self.price, size=size)

    @property
    def price(self) -> int:
        return self.counter_order.order.limit_price


def trigger_fill(
    venue: Venue,
    trader: Actor,
    counterparty: Actor,
    *,
    is_buy: bool,
    direction: TriggerDirection,
    trigger: int,
    fill_price: int,
    as_maker: bool = False,
    size: int = LOT,
    reduce_only: bool = False,
) -> TriggerFill:
    trigger_order = venue.order(
        trader,
        is_buy=is_buy,
        size=size,
        price=WORST[is_buy],
        reduce_only=reduce_only,
        trigger_price=trigger,
        trigger_direction=direction,
    )
    counter_order = venue.order(counterparty, is_buy=not is_buy, size=size, price=fill_price)
    return TriggerFill(trigger_order, counter_order, as_maker)


def settle_one(venue: Venue, fill: TriggerFill) -> list[object]:
    return venue.settle(fill.match())


# ---------------------------------------------------------------- the rule


CASES = [
    # (side of the trigger order, direction, oracle - trigger, fills)
    pytest.param(False, BELOW, TICK, False, id="long's stop-loss, oracle above: waits"),
    pytest.param(False, BELOW, 0, True, id="long's stop-loss, oracle at the trigger: fires"),
    pytest.param(False, BELOW, -TICK, True, id="long's stop-loss, oracle below: fires"),
    pytest.param(False, ABOVE, -TICK, False, id="long's take-profit, oracle below: waits"),
    pytest.param(False, ABOVE, 0, True, id="long's take-profit, oracle at the trigger: fires"),
    pytest.param(False, ABOVE, TICK, True, id="long's take-profit, oracle above: fires"),
    pytest.param(True, ABOVE, -TICK, False, id="short's stop-loss, oracle below: waits"),
    pytest.param(True, ABOVE, 0, True, id="short's stop-loss, oracle at the trigger: fires"),
    pytest.param(True, BELOW, TICK, False, id="short's take-profit, oracle above: waits"),
    pytest.param(True, BELOW, 0, True, id="short's take-profit, oracle at the trigger: fires"),
]


@pytest.mark.parametrize("as_maker", [False, True], ids=["taker", "maker"])
@pytest.mark.parametrize(("is_buy", "direction", "offset", "fills"), CASES)
def test_a_trigger_order_fills_only_once_the_oracle_crosses(
    funded: Venue,
    trader: Actor,
    maker: Actor,
    as_maker: bool,
    is_buy: bool,
    direction: TriggerDirection,
    offset: int,
    fills: bool,
) -> None:
    trigger = PRICE - 100 * TICK
    funded.set_price(MarketId(0), Price(trigger + offset))
    fill = trigger_fill(
        funded,
        trader,
        maker,
        is_buy=is_buy,
        direction=direction,
        trigger=trigger,
        fill_price=trigger,
        as_maker=as_maker,
    )
    logs = settle_one(funded, fill)
    if fills:
        assert rejection_reasons(logs) == []
        assert funded.position(trader)[0] == (LOT if is_buy else -LOT)
    else:
        assert rejection_reasons(logs) == [funded.exchange.REJECT_TRIGGER_NOT_REACHED()]
        assert funded.position(trader) == (0, 0, False, 0)


def test_a_stop_refused_early_settles_once_the_oracle_crosses(
    funded: Venue, trader: Actor, maker: Actor
) -> None:
    """A refused fill changes nothing: the same signed stop settles when the price gets
    there (and is refused again if the price crosses back before its batch lands)."""
    trigger = PRICE - 100 * TICK
    fill = trigger_fill(
        funded, trader, maker, is_buy=False, direction=BELOW, trigger=trigger, fill_price=trigger
    )
    funded.set_price(MarketId(0), Price(trigger + TICK))
    assert rejection_reasons(settle_one(funded, fill)) == [
        funded.exchange.REJECT_TRIGGER_NOT_REACHED()
    ]
    funded.set_price(MarketId(0), Price(trigger))
    assert events(settle_one(funded, fill), "Filled")
    assert funded.position(trader)[0] == -LOT


def test_a_plain_order_ignores_the_oracle(funded: Venue, trader: Actor, maker: Actor) -> None:
    funded.set_price(MarketId(0), Price(PRICE // 2 + TICK))
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    assert rejection_reasons(funded.settle(match(ask, bid))) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    oracle_ticks=st.integers(-2_000, 2_000),
    trigger_ticks=st.integers(-2_000, 2_000),
    direction=st.sampled_from([ABOVE, BELOW]),
    is_buy=st.booleans(),
    as_maker=st.booleans(),
)
def test_the_contract_follows_the_trigger_model(
    funded: Venue,
    trader: Actor,
    maker: Actor,
    oracle_ticks: int,
    trigger_ticks: int,
    direction: TriggerDirection,
    is_buy: bool,
    as_maker: bool,
) -> None:
    oracle, trigger = PRICE + oracle_ticks * TICK, PRICE + trigger_ticks * TICK
    with boa.env.anchor():
        funded.set_price(MarketId(0), Price(oracle))
        fill = trigger_fill(
            funded,
            trader,
            maker,
            is_buy=is_buy,
            direction=direction,
            trigger=trigger,
            fill_price=oracle,
            as_maker=as_maker,
        )
        logs = settle_one(funded, fill)
        if reached(direction, trigger, oracle):
            assert len(events(logs, "Filled")) == 1
            assert rejection_reasons(logs) == []
        else:
            assert events(logs, "Filled") == []
            assert rejection_reasons(logs) == [funded.exchange.REJECT_TRIGGER_NOT_REACHED()]


def test_a_stale_feed_checks_triggers_against_the_last_good_price(
    funded: Venue, trader: Actor, maker: Actor
) -> None:
    """The price the margin check values positions at: while the feed is stale, the last
    good one (a stale market only lets both sides reduce, so the stops here close)."""
    last_good = PRICE - 100 * TICK
    funded.open_long(trader, maker, 4 * LOT)
    funded.set_price(MarketId(0), Price(last_good))
    funded.markets.record_price(0)
    boa.env.time_travel(seconds=funded.markets.oracle_limits(0).max_price_age + 1)
    assert tuple(funded.markets.price(0)) == (last_good, False)

    def stop(trigger: int) -> TriggerFill:
        return trigger_fill(
            funded,
            trader,
            maker,
            is_buy=False,
            direction=BELOW,
            trigger=trigger,
            fill_price=last_good,
            reduce_only=True,
        )

    early, due = stop(last_good - TICK), stop(last_good)
    logs = funded.settle(early.match(), due.match())
    assert rejection_reasons(logs) == [funded.exchange.REJECT_TRIGGER_NOT_REACHED()]
    assert funded.position(trader)[0] == 3 * LOT


# ---------------------------------------------------------------- the operator as attacker


@dataclass(frozen=True)
class Tampered:
    """A batch as an operator could send it: packed orders, fills, trigger words."""

    orders: list[tuple[int, int, int, int]]
    fills: list[int]
    triggers: list[int]


DIRECTION_BITS = 3 << 242


def tamper(how: str, stop: SignedOrder, counter: SignedOrder, oracle: int) -> Tampered:
    """The stop (order 1, the taker) as the operator rewrites it to fire it at ``oracle``."""
    head, body, r, s = pack_order(stop)
    triggers = [pack_trigger(1, stop)]
    if how == "stripped":  # sent as a plain order
        head &= ~DIRECTION_BITS
        triggers = []
    elif how == "price_dropped":  # direction kept, no trigger word
        triggers = []
    elif how == "price_moved":  # the trigger moved to where the oracle is
        triggers = [1 | oracle << 16]
    elif how == "direction_flipped":
        head ^= DIRECTION_BITS
    elif how == "word_for_another_order":
        triggers = [pack_trigger(0, stop)]
    fill = pack_fill(0, 1, Price(counter.order.limit_price), stop.order.size)
    return Tampered([pack_order(counter), (head, body, r, s)], [fill], triggers)


@pytest.mark.parametrize(
    "how",
    ["stripped", "price_dropped", "price_moved", "direction_flipped", "word_for_another_order"],
)
def test_an_operator_that_strips_or_alters_a_trigger_gets_the_fill_skipped(
    funded: Venue, trader: Actor, maker: Actor, how: str
) -> None:
    trigger = PRICE - 100 * TICK
    oracle = trigger + 50 * TICK  # the stop-loss has not fired
    funded.set_price(MarketId(0), Price(oracle))
    fill = trigger_fill(
        funded, trader, maker, is_buy=False, direction=BELOW, trigger=trigger, fill_price=oracle
    )
    batch = tamper(how, fill.trigger_order, fill.counter_order, oracle)
    logs = funded.settle_packed(batch.orders, batch.fills, batch.triggers)
    assert rejection_reasons(logs) == [funded.exchange.REJECT_BAD_SIGNATURE()]
    assert funded.position(trader) == (0, 0, False, 0)
    # sent as signed, the same stop is refused for what it is
    honest = tamper("none", fill.trigger_order, fill.counter_order, oracle)
    logs = funded.settle_packed(honest.orders, honest.fills, honest.triggers)
    assert rejection_reasons(logs) == [funded.exchange.REJECT_TRIGGER_NOT_REACHED()]


def test_trigger_words_follow_their_orders_through_a_mixed_batch(
    funded: Venue, trader: Actor, maker: Actor
) -> None:
    """Plain and trigger orders interleaved: each trigger word reaches its own order."""
    oracle = PRICE - 100 * TICK
    funded.set_price(MarketId(0), Price(oracle))
    takers = [actor(f"taker {i}") for i in range(3)]
    for taker in takers:
        funded.fund(taker, 10_000 * USDC)
    stop = trigger_fill(
        funded, takers[0], maker, is_buy=False, direction=BELOW, trigger=oracle, fill_price=oracle
    )
    early = trigger_fill(
        funded,
        takers[1],
        maker,
        is_buy=True,
        direction=ABOVE,
        trigger=oracle + TICK,
        fill_price=oracle,
    )
    ask = funded.order(maker, is_buy=False, size=LOT, price=oracle)
    bid = funded.order(takers[2], is_buy=True, size=LOT, price=oracle)
    batch = Batch(funded.batch_limits())
    for fill in (match(ask, bid), stop.match(), early.match(), match(ask, bid)):
        batch.add(fill)
    assert [word & 0xFFFF for word in batch.triggers] == [3, 5]
    logs = funded.settle_packed(*batch.calldata_args())
    assert [(log.index, log.reason) for log in events(logs, "FillRejected")] == [
        (2, funded.exchange.REJECT_TRIGGER_NOT_REACHED()),
        (3, funded.exchange.REJECT_ORDER_CLOSED()),
    ]
    assert [funded.position(taker)[0] for taker in takers] == [-LOT, 0, LOT]


def test_cancel_order_names_a_trigger_order_by_its_hash(funded: Venue, trader: Actor) -> None:
    stop = funded.order(
        trader, is_buy=False, size=LOT, price=PRICE, trigger_price=PRICE, trigger_direction=BELOW
    )
    with boa.env.prank(trader.address):
        funded.exchange.cancel_order(pack_order(stop), stop.order.trigger_price)
        (cancelled,) = events(list(funded.exchange.get_logs()), "OrderCancelled")
    assert (cancelled.nonce, cancelled.order_hash) == (stop.order.nonce, stop.order_hash)


# ---------------------------------------------------------------- reduce-only triggers


@pytest.fixture
def long_trader(funded: Venue, trader: Actor, maker: Actor) -> Venue:
    """``trader`` long 4 lots; the oracle at the index price."""
    funded.open_long(trader, maker, 4 * LOT)
    return funded


def test_an_attached_take_profit_larger_than_the_position_never_flips_it(
    long_trader: Venue, trader: Actor, maker: Actor
) -> None:
    venue = long_trader
    take_profit = trigger_fill(
        venue,
        trader,
        maker,
        is_buy=False,
        direction=ABOVE,
        trigger=PRICE,
        fill_price=PRICE,
        size=8 * LOT,
        reduce_only=True,
    )
    # the whole order at once would flip the long into a short
    logs = venue.settle(take_profit.match())
    assert rejection_reasons(logs) == [venue.exchange.REJECT_REDUCE_ONLY()]
    assert venue.position(trader)[0] == 4 * LOT
    # the position's size closes it; anything more of the same order is refused
    logs = venue.settle(take_profit.match(4 * LOT), take_profit.match(LOT))
    assert rejection_reasons(logs) == [venue.exchange.REJECT_REDUCE_ONLY()]
    assert venue.position(trader)[0] == 0


def test_a_stop_loss_and_a_take_profit_both_reached_close_the_position_once(
    long_trader: Venue, trader: Actor, maker: Actor
) -> None:
    """Both attached orders reached at once (the oracle at both triggers): the operator
    settles both in one batch; the second would open a short and is refused."""
    venue = long_trader
    buyers = [actor("stop buyer"), actor("profit buyer")]
    for buyer in buyers:
        venue.fund(buyer, 10_000 * USDC)
    stop, profit = (
        trigger_fill(
            venue,
            trader,
            buyer,
            is_buy=False,
            direction=direction,
            trigger=PRICE,
            fill_price=PRICE,
            size=4 * LOT,
            reduce_only=True,
        )
        for buyer, direction in zip(buyers, (BELOW, ABOVE), strict=True)
    )
    logs = venue.settle(stop.match(), profit.match())
    assert rejection_reasons(logs) == [venue.exchange.REJECT_REDUCE_ONLY()]
    assert venue.position(trader)[0] == 0


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(1, 6),
    orders=st.lists(
        st.tuples(st.booleans(), st.sampled_from([ABOVE, BELOW]), st.integers(1, 8)),
        min_size=1,
        max_size=4,
    ),
)
def test_reduce_only_triggers_never_open_or_flip_a_position(
    funded: Venue,
    trader: Actor,
    maker: Actor,
    start: int,
    orders: list[tuple[bool, TriggerDirection, int]],
) -> None:
    """Whatever reduce-only trigger orders (either side, any size, all reached) the operator
    settles in one batch against a long, only sells that fit what is left fill: the
    position shrinks toward zero and never opens a short."""
    with boa.env.anchor():
        funded.open_long(trader, maker, start * LOT)
        fills = [
            trigger_fill(
                funded,
                trader,
                maker,
                is_buy=is_buy,
                direction=direction,
                trigger=PRICE,
                fill_price=PRICE,
                size=size * LOT,
                reduce_only=True,
            ).match()
            for is_buy, direction, size in orders
        ]
        funded.settle(*fills)
        left = start
        for is_buy, _, size in orders:
            if not is_buy and size <= left:
                left -= size
        assert funded.position(trader)[0] == left * LOT
