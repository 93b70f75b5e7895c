"""Seeded random workloads for engine tests, and a way to run them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from perpdex.core.types import (
    Address,
    ClientOrderId,
    MarketId,
    OrderHash,
    OrderId,
    Price,
    Side,
    Size,
    TriggerDirection,
)
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    CancelReason,
    ChainCancel,
    ChainHead,
    Command,
    Engine,
    EventBus,
    IndexPrice,
    Journal,
    ManualClock,
    MarketConfig,
    NewOrder,
    RejectedFill,
    Sequencer,
    SetDeadMan,
    StpMode,
    Tick,
    snapshot_bytes,
)
from perpdex.engine.events import Event

MARKETS = (MarketConfig(MarketId(0)), MarketConfig(MarketId(1), tick_size=5, lot_size=10))
ACCOUNTS = [Address(f"0x{n:040x}") for n in range(1, 6)]

Timed = tuple[int, Command]  # (clock time when submitted, command)


def mixed_commands(seed: int, count: int) -> list[Timed]:
    """Every kind of command, in two markets, with time passing; some are bad input.

    Some orders are trigger orders, and index prices random-walk around 1,000, so that
    trigger orders are held, released and cancelled.
    """
    rnd = random.Random(seed)
    time = 1_000
    next_id = 1
    placed: list[tuple[MarketId, int, Address, str | None]] = []
    out: list[Timed] = []
    for _ in range(count):
        time += rnd.choice((0, 0, 1, 5, 50))
        market = MarketId(rnd.choice((0, 0, 0, 1)))
        tick, lot = (1, 1) if market == 0 else (5, 10)
        account = rnd.choice(ACCOUNTS)
        roll = rnd.random()
        command: Command
        if roll < 0.55 or not placed:
            client_id = f"c{next_id}" if rnd.random() < 0.3 else None
            side = rnd.choice((Side.BUY, Side.SELL))
            price = 1_000 + rnd.randint(-8, 8) * tick + (1 if rnd.random() < 0.02 else 0)
            trigger = rnd.choice(list(TriggerDirection)) if rnd.random() < 0.2 else None
            command = NewOrder(
                market=MarketId(market if rnd.random() > 0.01 else 9),
                order_id=OrderId(next_id if rnd.random() > 0.02 else max(1, next_id - 3)),
                account=account,
                side=side,
                price=Price(price),
                size=Size(rnd.choice((1, 2, 3, 7, 20)) * lot),
                tif=rnd.choice((Tif.GTC, Tif.GTC, Tif.GTC, Tif.IOC, Tif.FOK, Tif.POST_ONLY)),
                client_id=None if client_id is None else ClientOrderId(client_id),
                reduce_only=rnd.random() < 0.05,
                expiry=time + rnd.randint(1, 400) if rnd.random() < 0.2 else 0,
                stp=rnd.choice(list(StpMode)),
                payload=rnd.randbytes(rnd.choice((0, 8))),
                trigger=TriggerDirection.NONE if trigger is None else trigger,
                trigger_price=Price(0 if trigger is None else 1_000 + rnd.randint(-6, 6)),
            )
            placed.append((command.market, next_id, account, client_id))
            next_id += 1
        else:
            target_market, order_id, owner, client_id = rnd.choice(placed[-20:])
            if roll < 0.75:
                command = Cancel(target_market, OrderId(order_id))
            elif roll < 0.80 and client_id is not None:
                command = CancelByClientId(target_market, owner, ClientOrderId(client_id))
            elif roll < 0.88:
                step = 1 if target_market == 0 else 5
                command = Amend(
                    market=target_market,
                    order_id=OrderId(order_id),
                    price=Price(1_000 + rnd.randint(-8, 8) * step),
                    size=Size(rnd.choice((1, 2, 5, 10)) * (1 if target_market == 0 else 10)),
                )
            elif roll < 0.91:
                command = CancelAll(target_market, owner)
            elif roll < 0.92:
                command = CancelAccount(owner)
            elif roll < 0.94:
                command = SetDeadMan(owner, rnd.choice((0, time + rnd.randint(1, 3_000))))
            elif roll < 0.955:
                command = _chain_cancel(rnd, placed[-20:])
            elif roll < 0.99:
                command = IndexPrice(market=market, price=Price(1_000 + rnd.randint(-8, 8)))
            else:
                command = Tick()
        out.append((time, command))
    return out


def _chain_cancel(
    rnd: random.Random, placed: list[tuple[MarketId, int, Address, str | None]]
) -> ChainCancel:
    """Some orders the chain closed (resting or not), or a fill it refused."""
    chosen = rnd.sample(placed, min(2, len(placed)))
    orders = tuple((market, OrderId(order_id)) for market, order_id, _, _ in chosen)
    if rnd.random() < 0.5:
        return ChainCancel(orders=orders, reason=CancelReason.ON_CHAIN)
    maker, taker = rnd.sample(ACCOUNTS, 2)
    rejected = RejectedFill(
        market=orders[0][0],
        price=Price(1_000),
        size=Size(10),
        taker_side=rnd.choice((Side.BUY, Side.SELL)),
        maker_account=maker,
        taker_account=taker,
        maker_hash=OrderHash(rnd.randbytes(32)),
        taker_hash=OrderHash(rnd.randbytes(32)),
        cause="ORDER_CLOSED",
    )
    return ChainCancel(orders=orders, reason=CancelReason.FILL_REJECTED, rejected=rejected)


def positions(account: Address, market: MarketId) -> int:
    """A fixed, made-up position per account, so reduce-only orders do something."""
    return (ACCOUNTS.index(account) - 2) * 7 * (1 if market == 0 else 10)


@dataclass
class Run:
    """A sequencer, engine and event log, fed timed commands."""

    journal: Journal | None = None
    group_size: int = 16
    book_deltas: bool = True
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        bus = EventBus(book_deltas=self.book_deltas)
        bus.subscribe(self.events.append)
        self.clock = ManualClock()
        self.engine = Engine(MARKETS, bus)
        self.sequencer = Sequencer(
            self.engine, self.clock, self.journal, positions=positions, group_size=self.group_size
        )

    def feed(self, commands: list[Timed]) -> Run:
        for time, command in commands:
            self.clock.time = time
            self.sequencer.submit(command)
        self.sequencer.flush()
        return self

    def state(self) -> bytes:
        return snapshot_bytes(self.engine, ChainHead(self.sequencer.seq, b""))
