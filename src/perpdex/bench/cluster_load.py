"""The load of ``perpdex bench cluster``: pre-signed orders, and the client connections
that send them and time the answers.

Each connection trades one market as a *maker* (GTC asks 1 to 5 ticks above the index,
one lot) or a *taker* (IOC buys up to :data:`TAKER_TICKS` above it, one lot); the
connections alternate over the first two markets, makers and takers in equal numbers.
Every market also has one large resting ask at the taker's limit (:meth:`Workload.
liquidity`, placed before timing), so every taker trades once, whatever the makers have
resting, and no taker meets an order of its own trader (no self-trade prevention). A
connection sends one order, waits for its answer, then sends the next (the gateway
answers a connection's requests one after another), so the load is the number of
connections.

A connection's orders rotate over traders of its own (``--traders`` in all): no fill is
ever settled here, and the pre-trade check folds each of a trader's pending fills into its
margin, so a trader with thousands of unsettled fills would measure that fold, not the
order path (with settlement running, a fill is pending for a second or two).

Orders are signed before timing (signing is the trader's cost, not the gateway's), once
per run: every configuration starts from empty books, so the same signed orders serve
all of them.

Times are ``time.monotonic_ns`` (one clock for every process of the machine):

* ack latency: an order sent to its ``placed`` answer;
* fill latency: a taker's order sent to its trade on the market's public trade channel,
  read by one more connection per market (to the first gateway): the trade frame carries
  the journal sequence of the command that traded, which the taker's ``placed`` answer
  carries too.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
from websockets.asyncio.client import ClientConnection, connect

from perpdex.chain.deployment import ListedMarket
from perpdex.core.eip712 import Eip712Domain, FeePpm, Nonce, Order, UnixTime, sign_order
from perpdex.core.signing import SigningKey
from perpdex.core.types import Address, MarginMode, MarketId, Price, Size, TimeInForce
from perpdex.gateway import protocol as wire

MAKER_TICKS = (1, 5)
"""How far above the index a maker's ask rests, in ticks (inclusive)."""
TAKER_TICKS = 20
"""A taker's limit and the resting liquidity's price, in ticks above the index."""
ORDER_TTL_S = 3_600
TRADES_WAIT_S = 10.0
"""How long the trade watchers wait for the last takers' trades after the last answer."""
ANSWER_WAIT_S = 30.0
"""An order not answered within this is an error (the gateway is stuck or gone)."""

Trade = tuple[int, int]
"""(market, journal sequence of the command that traded)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """One connection's orders in send order (frames), and whether they take."""

    market: int
    taker: bool
    orders: tuple[str, ...]


@dataclass(slots=True)
class Measured:
    """What one connection saw."""

    placed: int = 0
    unapplied: int = 0
    """``placed`` answers with ``applied`` false (durable, not yet applied: cluster mode)."""
    errors: list[str] = field(default_factory=list)
    ack_ns: list[int] = field(default_factory=list)
    taken: list[tuple[Trade, int]] = field(default_factory=list)
    """A taker's orders: the trade its answer names, and when it was sent."""
    takers: int = 0
    first_send_ns: int = 0
    last_answer_ns: int = 0


@dataclass(frozen=True, slots=True)
class Traders:
    """The connections' traders and the liquidity's, the same for the same seed."""

    seed: int
    keys: tuple[SigningKey, ...]
    liquidity: SigningKey

    @classmethod
    def of(cls, traders: int, seed: int) -> Traders:
        rng = random.Random(seed)
        keys = tuple(SigningKey(rng.randbytes(32)) for _ in range(traders + 1))
        return cls(seed, keys[1:], keys[0])

    @property
    def addresses(self) -> list[Address]:
        return [key.address for key in (self.liquidity, *self.keys)]


class Workload:
    """Every connection's signed orders; connection ``i`` trades for ``traders.keys[i::
    clients]`` in turn."""

    def __init__(
        self,
        markets: Sequence[ListedMarket],
        domain: Eip712Domain,
        traders: Traders,
        *,
        clients: int,
        orders: int,
    ) -> None:
        if clients < 4 or len(traders.keys) < clients:
            raise ValueError(
                "at least 4 connections (a maker and a taker per market), and a trader for each"
            )
        self.markets = tuple(markets[:2])
        self.domain = domain
        self._rng = random.Random(traders.seed)
        self.liquidity_key = traders.liquidity
        self.per_connection = max(1, orders // clients)
        self.plans = [self._plan(i, traders.keys[i::clients]) for i in range(clients)]

    @property
    def orders(self) -> int:
        return self.per_connection * len(self.plans)

    @property
    def takers(self) -> int:
        return sum(self.per_connection for plan in self.plans if plan.taker)

    def liquidity(self) -> str:
        """One frame: per market an ask at the takers' limit large enough for all of them."""
        requests = [
            self._place(
                self.liquidity_key,
                market,
                nonce,
                is_buy=False,
                ticks=TAKER_TICKS,
                tif=TimeInForce.GTC,
                lots=self.takers,
            )
            for nonce, market in enumerate(self.markets, 1)
        ]
        return wire.encode_frame(requests).decode()

    def _plan(self, index: int, keys: Sequence[SigningKey]) -> Plan:
        market = self.markets[index % len(self.markets)]
        taker = (index // len(self.markets)) % 2 == 1
        orders = []
        for number in range(self.per_connection):
            key, nonce = keys[number % len(keys)], number // len(keys) + 1
            if taker:
                request = self._place(
                    key, market, nonce, is_buy=True, ticks=TAKER_TICKS, tif=TimeInForce.IOC
                )
            else:
                ticks = self._rng.randint(*MAKER_TICKS)
                request = self._place(
                    key, market, nonce, is_buy=False, ticks=ticks, tif=TimeInForce.GTC
                )
            orders.append(wire.encode_frame(request).decode())
        return Plan(market.id, taker, tuple(orders))

    def _place(
        self,
        key: SigningKey,
        market: ListedMarket,
        nonce: int,
        *,
        is_buy: bool,
        ticks: int,
        tif: TimeInForce,
        lots: int = 1,
    ) -> wire.PlaceRequest:
        order = Order(
            trader=key.address,
            market=MarketId(market.id),
            is_buy=is_buy,
            size=Size(market.lot_size * lots),
            limit_price=Price(market.index_price + ticks * market.tick_size),
            max_fee_ppm=FeePpm(market.taker_fee_ppm),
            margin_mode=MarginMode.CROSS,
            time_in_force=tif,
            reduce_only=False,
            expiry=UnixTime(int(time.time()) + ORDER_TTL_S),
            nonce=Nonce(nonce),
        )
        signed = sign_order(order, key, self.domain)
        return wire.PlaceRequest(
            order=wire.WireOrder.of(order), signature=wire.hex0x(signed.signature.to_bytes())
        )


# -- the clients ---------------------------------------------------------------------------


class _Seen(msgspec.Struct, rename="camel"):
    """The fields of a server frame the clients read (the rest is skipped unparsed)."""

    type: str
    market: int | None = None
    seq: int | None = None
    applied: bool = True
    message: str | None = None


_decode = msgspec.json.Decoder(_Seen | list[_Seen]).decode


def frames_of(message: str | bytes) -> list[_Seen]:
    decoded = _decode(message)
    return decoded if isinstance(decoded, list) else [decoded]


@dataclass(frozen=True, slots=True)
class Share:
    """A client process's part: its connections (gateway URL and plan) and, for the first
    process, the markets whose trades it watches (through ``watch_url``), ``trades`` of
    them expected in all."""

    connections: list[tuple[str, Plan]]
    watch_url: str = ""
    watch: tuple[int, ...] = ()
    trades: int = 0


async def run_clients(
    urls: Sequence[str], workload: Workload, processes: int
) -> tuple[list[Measured], dict[Trade, int], float]:
    """Every plan on a connection of its own, connection ``i`` to ``urls[i % len(urls)]``,
    spread over ``processes`` client processes; all of a process's connections are open
    before any sends an order. What each connection saw, when each trade was seen, and the
    client processes' CPU seconds."""
    assigned = [(urls[i % len(urls)], plan) for i, plan in enumerate(workload.plans)]
    shares = [Share(assigned[i::processes]) for i in range(processes)]
    markets = tuple(market.id for market in workload.markets)
    shares[0] = Share(shares[0].connections, urls[0], markets, workload.takers)
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        pending = pool.map_async(_client_process, shares)
        results = await asyncio.to_thread(pending.get)
    measured = [m for connections, _, _ in results for m in connections]
    trades = {trade: ns for _, seen, _ in results for trade, ns in seen.items()}
    return measured, trades, sum(cpu for _, _, cpu in results)


def _client_process(share: Share) -> tuple[list[Measured], dict[Trade, int], float]:
    async def all_connections() -> tuple[list[Measured], dict[Trade, int]]:
        trades: dict[Trade, int] = {}
        watchers = [await _watch(share.watch_url, market, trades) for market in share.watch]
        opened = [
            await connect(url, max_size=None, compression=None, open_timeout=60)
            for url, _ in share.connections
        ]
        try:
            measured = list(
                await asyncio.gather(
                    *(
                        _drive(ws, plan)
                        for ws, (_, plan) in zip(opened, share.connections, strict=True)
                    )
                )
            )
            deadline = time.monotonic() + TRADES_WAIT_S
            while len(trades) < share.trades and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return measured, trades
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*(ws.close() for ws in opened))

    start = time.process_time()
    measured, trades = asyncio.run(all_connections())
    return measured, trades, time.process_time() - start


async def _watch(url: str, market: int, trades: dict[Trade, int]) -> asyncio.Task[None]:
    """A connection subscribed to ``market``'s trades, noting when each is first seen."""
    ws = await connect(url, max_size=None, compression=None, open_timeout=60)
    subscribe = wire.SubscribeRequest(channel=wire.Channel.TRADES, market=MarketId(market))
    await ws.send(wire.encode_frame(subscribe).decode())

    async def read() -> None:
        try:
            async for message in ws:
                now = time.monotonic_ns()
                for seen in frames_of(message):
                    if seen.type == "trade" and seen.seq is not None:
                        trades.setdefault((market, seen.seq), now)
        finally:
            await ws.close()

    while True:  # subscribed before the first order goes
        frames = frames_of(await asyncio.wait_for(ws.recv(), ANSWER_WAIT_S))
        if any(seen.type == "subscribed" for seen in frames):
            return asyncio.create_task(read())


async def _drive(ws: ClientConnection, plan: Plan) -> Measured:
    """Send the plan's orders one after another, each once the previous one is answered."""
    measured = Measured(takers=len(plan.orders) if plan.taker else 0)
    measured.first_send_ns = time.monotonic_ns()
    for frame in plan.orders:
        began = time.monotonic_ns()
        await ws.send(frame)
        answer = await _answer(ws)
        measured.last_answer_ns = now = time.monotonic_ns()
        if answer.type == "error":
            measured.errors.append(answer.message or "?")
            continue
        measured.placed += 1
        measured.ack_ns.append(now - began)
        if not answer.applied:
            measured.unapplied += 1
        elif plan.taker and answer.seq is not None:
            measured.taken.append(((plan.market, answer.seq), began))
    return measured


async def _answer(ws: ClientConnection) -> _Seen:
    """The next ``placed`` or ``error`` frame."""
    while True:
        for seen in frames_of(await asyncio.wait_for(ws.recv(), ANSWER_WAIT_S)):
            if seen.type in ("placed", "error"):
                return seen
