"""The engine shard process in tests: started by its command line, fed commands through
the command stream as a gateway would, and checked against its journal and events."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nats
from nats.js import JetStreamContext

from perpdex.chain.deployment import Contracts, Deployment, ListedMarket, write_deployment
from perpdex.chain.markets import default_markets
from perpdex.cluster.commands import WireCommand, publish, with_order_id
from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.event_codec import decode_body
from perpdex.cluster.event_stream import PART, SEQ_FIRST, SEQ_LAST
from perpdex.cluster.journal import COMMAND_SEQ, JetStreamJournal
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_streams
from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    sign_order,
)
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import (
    Address,
    ClientOrderId,
    MarginMode,
    MarketId,
    OrderHash,
    OrderId,
    Price,
    Size,
)
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    Engine,
    EventBus,
    IndexPrice,
    NewOrder,
    SetDeadMan,
    Tick,
)
from perpdex.engine.codec import decode
from perpdex.engine.config import MarketConfig
from perpdex.engine.events import Event
from perpdex.engine.journal import JournalEntry
from perpdex.settlement.payload import order_of_payload, order_payload

SRC = Path(__file__).resolve().parents[3] / "src"
TRADERS = [SigningKey(keccak256(f"engine trader {i}".encode())) for i in range(1, 5)]
_NO_CONTRACT = Address("0x" + "11" * 20)
DOMAIN = Eip712Domain(ChainId(31337), _NO_CONTRACT)
"""The signing domain of ``offline_deployment``'s Exchange."""


def offline_deployment(path: Path, markets: int = 4) -> tuple[Path, tuple[MarketConfig, ...]]:
    """A deployment file naming ``markets`` markets (the demo specs in turn) and no chain
    the engine would talk to (it never does)."""
    specs = default_markets()
    listed = tuple(
        ListedMarket(**{**asdict(specs[i % len(specs)]), "symbol": f"M{i}-PERP"}, id=MarketId(i))
        for i in range(markets)
    )
    contracts = Contracts(
        exchange=_NO_CONTRACT,
        collateral=_NO_CONTRACT,
        oracles={m.symbol: _NO_CONTRACT for m in listed},
        markets=_NO_CONTRACT,
        liquidations=_NO_CONTRACT,
        checkpoints=_NO_CONTRACT,
    )
    deployment = Deployment(
        chain_id=31337,
        rpc_url="http://127.0.0.1:1",
        start_block=0,
        contracts=contracts,
        abi={},
        markets=listed,
        wallets=(),
    )
    write_deployment(deployment, path)
    return path, tuple(MarketConfig(m.id, m.tick_size, m.lot_size) for m in listed)


class EngineProcess:
    """``perpdex engine --shard K`` as a child process; its output in ``log``."""

    def __init__(
        self,
        deployment: Path,
        urls: Sequence[str],
        layout: StreamLayout,
        shard: int,
        log: Path,
        *extra: str,
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "perpdex.cli.main",
            "engine",
            "--shard",
            str(shard),
            "--deployment",
            str(deployment),
            "--nats",
            ",".join(urls),
            "--shards",
            str(layout.shards),
            "--replicas",
            str(layout.replicas),
            "--prefix",
            layout.prefix,
            *extra,
        ]
        self.log = log
        self._served_before = self._serving_lines()
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(SRC)},
            )

    def _serving_lines(self) -> int:
        return self.log.read_text().count("serving markets") if self.log.exists() else 0

    def wait_serving(self, within_s: float = 90.0) -> None:
        """Until this process has replayed its journal and reads commands (a bound on a
        hang: a loaded 2-core machine took 34 s once to start the interpreter and import)."""
        deadline = time.monotonic() + within_s
        while self._serving_lines() == self._served_before:
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout_s: float = 30.0) -> int:
        return self.process.wait(timeout_s)

    def kill(self) -> None:
        """SIGKILL: nothing flushed, nothing published, no goodbye."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM, as the supervisor stops it; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.wait()


@dataclass
class Published:
    """A command durable in the command stream, as the gateway learns it from the ack."""

    shard: ShardId
    stream_seq: int
    command: WireCommand


def terms(
    trader: SigningKey,
    config: MarketConfig,
    *,
    is_buy: bool,
    ticks: int = 0,
    lots: int = 1,
    tif: Tif = Tif.GTC,
    nonce: int,
) -> Order:
    """An order of ``trader`` at ``ticks`` from the price 10,000 ticks."""
    return Order(
        trader=trader.address,
        market=config.market,
        is_buy=is_buy,
        size=Size(config.lot_size * lots),
        limit_price=Price(config.tick_size * (10_000 + ticks)),
        max_fee_ppm=FeePpm(1_000),
        margin_mode=MarginMode.CROSS,
        time_in_force=tif,
        reduce_only=False,
        expiry=UnixTime(time.time_ns() // 1_000_000_000 + 3_600),
        nonce=Nonce(nonce),
    )


def new_order(
    signed: SignedOrder, *, client_id: ClientOrderId | None = None, expiry: int = 0
) -> NewOrder:
    """The command a gateway publishes for ``signed`` (the engine numbers it)."""
    order = signed.order
    return NewOrder(
        market=order.market,
        order_id=OrderId(0),
        account=order.trader,
        side=order.side,
        price=order.limit_price,
        size=order.size,
        tif=order.time_in_force,
        client_id=client_id,
        expiry=expiry,
        payload=order_payload(signed),
    )


@dataclass(frozen=True, slots=True)
class Resting:
    """A placed order the workload may cancel or amend: the signed terms its id carries."""

    market: MarketId
    order_id: OrderId
    order: Order
    trader: SigningKey


@dataclass
class Workload:
    """Commands as gateways and the risk process send them: signed orders (some expiring
    soon, so the engine's timers fire), cancels and signed amends of orders by the id their
    ack gave, cancel alls, index prices, dead-man switches, cancels of a whole account."""

    markets: tuple[MarketConfig, ...]
    layout: StreamLayout
    seed: int = 1
    published: list[Published] = field(default_factory=list)
    _placed: list[Resting] = field(default_factory=list)
    _recorded: set[tuple[ShardId, int]] = field(default_factory=set)
    _count: int = 0

    def __post_init__(self) -> None:
        self._rnd = random.Random(self.seed)

    def next_command(self) -> tuple[WireCommand, OrderHash | None]:
        rnd = self._rnd
        self._count += 1
        config = rnd.choice(self.markets)
        market, tick = config.market, config.tick_size
        trader = rnd.choice(TRADERS)
        account = trader.address
        roll = rnd.random()
        if roll < 0.6 or not self._placed:
            now_ms = time.time_ns() // 1_000_000
            order = terms(
                trader,
                config,
                is_buy=rnd.random() < 0.5,
                ticks=rnd.randint(-6, 6),
                lots=rnd.choice((1, 2, 5)),
                tif=rnd.choice((Tif.GTC, Tif.GTC, Tif.IOC, Tif.POST_ONLY)),
                nonce=self._count,
            )
            signed = sign_order(order, trader, DOMAIN)
            command = new_order(
                signed,
                client_id=ClientOrderId(f"c{self._count}") if rnd.random() < 0.2 else None,
                expiry=now_ms + rnd.choice((300, 600)) if rnd.random() < 0.2 else 0,
            )
            return command, signed.order_hash
        placed = rnd.choice(self._placed)
        if roll < 0.72:
            return Cancel(placed.market, placed.order_id), None
        if roll < 0.78:
            return CancelAll(market, account), None
        if roll < 0.84:
            resting = next(m for m in self.markets if m.market == placed.market)
            replacing = replace(
                placed.order,
                limit_price=Price(resting.tick_size * (10_000 + rnd.randint(-6, 6))),
                size=Size(resting.lot_size * rnd.choice((1, 3))),
                nonce=Nonce(self._count),
            )
            signed = sign_order(replacing, placed.trader, DOMAIN)
            return Amend(
                market=placed.market,
                order_id=placed.order_id,
                price=replacing.limit_price,
                size=replacing.size,
                payload=order_payload(signed),
            ), None
        if roll < 0.9:
            return IndexPrice(
                market=market, price=Price(tick * (10_000 + rnd.randint(-6, 6)))
            ), None
        if roll < 0.94:
            return CancelByClientId(
                market, account, ClientOrderId(f"c{rnd.randrange(self._count)}")
            ), None
        if roll < 0.98:
            return SetDeadMan(account, time.time_ns() // 1_000_000 + 400), None
        return CancelAccount(account), None

    async def send(self, js: JetStreamContext, count: int, pause_s: float = 0.0) -> None:
        """Publish ``count`` commands, each retried (same id) while JetStream is away."""
        for _ in range(count):
            command, order_hash = self.next_command()
            origin = f"test/{self.seed}/{self._count}".encode()
            while True:
                try:
                    acks = await publish(
                        js, self.layout, command, order_hash=order_hash, origin=origin
                    )
                    break
                except JetStreamUnavailableError:
                    await asyncio.sleep(0.2)
            for part, ack in acks:
                # A duplicate's ack names the first copy's sequence: a part stored by a try
                # whose ack was lost (a leader went away), or by a part before the one that
                # failed; either way never recorded yet.
                if ack.duplicate and (part.shard, ack.stream_seq) in self._recorded:
                    continue
                self._recorded.add((part.shard, ack.stream_seq))
                self.published.append(Published(part.shard, ack.stream_seq, part.command))
                if type(part.command) is NewOrder:
                    signed = order_of_payload(part.command.payload)
                    trader = next(t for t in TRADERS if t.address == signed.trader)
                    placed = Resting(signed.market, OrderId(ack.stream_seq), signed, trader)
                    self._placed.append(placed)
            if pause_s:
                await asyncio.sleep(pause_s)

    def last_seq(self, shard: ShardId) -> int:
        return max((p.stream_seq for p in self.published if p.shard == shard), default=0)


async def connected(
    urls: Sequence[str], layout: StreamLayout
) -> tuple[nats.NATS, JetStreamContext]:
    client = await nats.connect(list(urls))
    js = client.jetstream(timeout=2.0)
    await ensure_streams(js, layout)
    return client, js


async def journal_covers(js: JetStreamContext, layout: StreamLayout, shard: ShardId) -> int:
    """The ``Perpdex-Cmd-Seq`` of the shard's last journal message (0: none yet)."""
    stream = layout.journal_stream(shard)
    last = (await js.stream_info(stream)).state.last_seq
    if last == 0:
        return 0
    message = await js.get_msg(stream, last)
    return int((message.headers or {}).get(COMMAND_SEQ, 0))


async def wait_covered(
    js: JetStreamContext, layout: StreamLayout, shard: ShardId, seq: int, within_s: float = 60.0
) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            if await journal_covers(js, layout, shard) >= seq:
                return
        except (TimeoutError, nats.errors.Error):
            pass  # a leader being elected
        assert time.monotonic() < deadline, f"shard {shard}: command {seq} not journaled"
        await asyncio.sleep(0.1)


@dataclass
class EventMessageSeen:
    first: int
    last: int
    events: list[Event]
    part: tuple[int, int] | None  # (i, n) of one entry's events cut in parts


async def event_messages(
    js: JetStreamContext, layout: StreamLayout, shard: ShardId
) -> list[EventMessageSeen]:
    stream = layout.event_stream(shard)
    last = (await js.stream_info(stream)).state.last_seq
    seen = []
    for seq in range(1, last + 1):
        message = await js.get_msg(stream, seq)
        headers = message.headers or {}
        part = headers.get(PART)
        index, parts = map(int, part.split("/")) if part else (0, 0)
        seen.append(
            EventMessageSeen(
                int(headers[SEQ_FIRST]),
                int(headers[SEQ_LAST]),
                decode_body(message.data or b""),
                (index, parts) if part else None,
            )
        )
    return seen


def journal_entries(
    urls: Sequence[str], layout: StreamLayout, shard: ShardId
) -> list[JournalEntry]:
    """Every entry of the shard's journal, chain-checked (opening writes nothing)."""
    journal = JetStreamJournal(list(urls), layout, shard)
    try:
        return list(journal.read())
    finally:
        journal.close()


def assert_exactly_once(entries: list[JournalEntry], workload: Workload, shard: ShardId) -> None:
    """The journal holds each command published to ``shard`` once, in stream order (a new
    order numbered by its stream sequence), and nothing else but ticks."""
    journaled = []
    for item in entries:
        _, _, command = decode(item.entry)
        if isinstance(command, Tick):
            continue
        if isinstance(command, IndexPrice):
            command = replace(command, positions=())  # the engine's stamp
        journaled.append(command)
    sent = [
        with_order_id(p.command, p.stream_seq)
        for p in sorted(workload.published, key=lambda p: p.stream_seq)
        if p.shard == shard
    ]
    differ = next(
        (i for i, (got, want) in enumerate(zip(journaled, sent, strict=False)) if got != want),
        min(len(journaled), len(sent)),
    )
    assert journaled == sent, (
        f"{len(journaled)} journaled, {len(sent)} published; from #{differ}: "
        f"{journaled[differ : differ + 2]} journaled, {sent[differ : differ + 2]} published"
    )


def assert_events_are_the_journals(
    entries: list[JournalEntry],
    messages: list[EventMessageSeen],
    markets: tuple[MarketConfig, ...],
) -> None:
    """The event stream covers every entry once, in order, with a replay's events."""
    replayed: list[Event] = []
    bus = EventBus(book_deltas=False)
    bus.subscribe(replayed.append)
    engine = Engine(markets, bus)
    for item in entries:
        seq, time_ms, command = decode(item.entry)
        engine.apply(seq, time_ms, command)
    expected_first = 1
    for message in messages:
        if message.part is not None and message.part[0] > 1:  # the next part of one entry
            assert message.first == message.last == expected_first - 1
            continue
        assert message.first == expected_first
        assert message.last >= message.first
        expected_first = message.last + 1
    assert expected_first == len(entries) + 1, (
        len(entries),
        [(m.first, m.last) for m in messages[-3:]],
    )
    assert [e for m in messages for e in m.events] == replayed
