"""A harness for engine tests: an engine behind a sequencer, recording typed events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from perpdex.core.types import (
    Address,
    ClientOrderId,
    MarketId,
    OrderId,
    Price,
    Side,
    Size,
    TriggerDirection,
)
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine import (
    Command,
    Engine,
    EventBus,
    IndexPrice,
    Journal,
    ManualClock,
    MarketConfig,
    NewOrder,
    OrderStates,
    PositionSource,
    Sequencer,
    StpMode,
)
from perpdex.engine.events import Event
from perpdex.engine.sequencer import flat

M = MarketId(0)
COARSE = MarketId(1)  # tick 5, lot 10
ALICE = Address("0x" + "a1" * 20)
BOB = Address("0x" + "b0" * 20)
CAROL = Address("0x" + "c4" * 20)
MARKETS = (MarketConfig(M), MarketConfig(COARSE, tick_size=5, lot_size=10))

Level = tuple[int, list[tuple[int, int]]]  # price, [(order id, remaining)]


class Harness:
    def __init__(
        self,
        *,
        markets: Iterable[MarketConfig] = MARKETS,
        self_trade_prevention: bool = True,
        journal: Journal | None = None,
        positions: PositionSource = flat,
    ) -> None:
        self.clock = ManualClock(1_000)
        self.events: list[Event] = []
        self.states = OrderStates()
        bus = EventBus()
        bus.subscribe(self.events.append)
        bus.subscribe(self.states.apply)
        self.engine = Engine(markets, bus, self_trade_prevention=self_trade_prevention)
        self.sequencer = Sequencer(self.engine, self.clock, journal, positions=positions)
        self.next_id = 1

    def submit(self, command: Command) -> list[Event]:
        """The events the command caused."""
        start = len(self.events)
        self.sequencer.submit(command)
        return self.events[start:]

    def order(
        self,
        side: Side,
        price: int,
        size: int,
        *,
        account: Address = ALICE,
        market: MarketId = M,
        tif: Tif = Tif.GTC,
        client_id: str | None = None,
        reduce_only: bool = False,
        expiry: int = 0,
        stp: StpMode = StpMode.CANCEL_TAKER,
        payload: bytes = b"",
        trigger: TriggerDirection = TriggerDirection.NONE,
        trigger_price: int = 0,
    ) -> NewOrder:
        order_id = self.next_id
        self.next_id += 1
        return NewOrder(
            market=market,
            order_id=OrderId(order_id),
            account=account,
            side=side,
            price=Price(price),
            size=Size(size),
            tif=tif,
            client_id=None if client_id is None else ClientOrderId(client_id),
            reduce_only=reduce_only,
            expiry=expiry,
            stp=stp,
            payload=payload,
            trigger=trigger,
            trigger_price=Price(trigger_price),
        )

    def buy(self, price: int, size: int, **terms: Any) -> list[Event]:
        return self.submit(self.order(Side.BUY, price, size, **terms))

    def sell(self, price: int, size: int, **terms: Any) -> list[Event]:
        return self.submit(self.order(Side.SELL, price, size, **terms))

    def index(self, price: int, market: MarketId = M) -> list[Event]:
        """The index price of ``market`` is now ``price``."""
        return self.submit(IndexPrice(market=market, price=Price(price)))

    def book(self, market: MarketId = M) -> tuple[list[Level], list[Level]]:
        """(bids, asks), best first: [(price, [(order id, remaining), ...]), ...]."""
        book = self.engine.markets[market]
        bids, asks = (
            [
                (level.price, [(o.command.order_id, o.remaining) for o in level.orders.values()])
                for level in side.depth()
            ]
            for side in (book.bids, book.asks)
        )
        return bids, asks


def kinds(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events]
