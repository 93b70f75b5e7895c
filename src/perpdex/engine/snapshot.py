"""Snapshots: every book and the engine's other state as of one journal entry.

A snapshot names the journal entry it follows (``seq`` and its chain ``head``); replaying
the later entries on top of it gives the same engine as replaying the whole journal. The
encoding is canonical (resting orders best price first, in time priority; held trigger
orders by id; switches sorted by account), so two engines in the same state give the same
bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from perpdex.core.types import Address, MarketId
from perpdex.engine.codec import decode_order, encode_order
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.errors import SnapshotError
from perpdex.engine.events import EventSink
from perpdex.engine.journal import ChainHead

VERSION = 3  # 2: the index price and the held trigger orders of each market; 3: their sizes


class _Market(msgspec.Struct, array_like=True, frozen=True):
    market: int
    tick_size: int
    lot_size: int
    last_order_id: int
    orders: list[tuple[bytes, int]]  # (encoded terms, remaining)
    index: int  # the last index price (0: none yet)
    held: list[tuple[bytes, int]]  # the held trigger orders by id: (encoded terms, open size)


class _Snapshot(msgspec.Struct, array_like=True, frozen=True):
    version: int
    seq: int
    head: bytes
    markets: list[_Market]
    dead_man: list[tuple[str, int]]


def snapshot_bytes(engine: Engine, head: ChainHead) -> bytes:
    """The engine's state after the journal entry ``head.seq``, canonically encoded."""
    markets = [
        _Market(
            market=book.market,
            tick_size=book.config.tick_size,
            lot_size=book.config.lot_size,
            last_order_id=book.last_order_id,
            orders=[
                (encode_order(order.command), order.remaining) for order in book.resting_orders()
            ],
            index=book.index,
            held=[
                (encode_order(order), book.held.open[order.order_id])
                for order in book.held.in_id_order()
            ],
        )
        for book in engine.markets.values()
    ]
    return msgspec.msgpack.encode(
        _Snapshot(VERSION, head.seq, head.head, markets, sorted(engine.dead_man.items()))
    )


def load_snapshot(
    data: bytes, sink: EventSink | None = None, *, self_trade_prevention: bool = True
) -> tuple[Engine, ChainHead]:
    """An engine in the snapshot's state (no events), and the head it follows."""
    try:
        snap = msgspec.msgpack.decode(data, type=_Snapshot)
    except msgspec.DecodeError as error:
        raise SnapshotError(f"not a snapshot: {error}") from error
    if snap.version != VERSION:
        raise SnapshotError(f"snapshot version {snap.version}, expected {VERSION}")
    engine = Engine(
        [MarketConfig(MarketId(m.market), m.tick_size, m.lot_size) for m in snap.markets],
        sink,
        self_trade_prevention=self_trade_prevention,
    )
    for market in snap.markets:
        book = engine.markets[MarketId(market.market)]
        book.last_order_id = market.last_order_id
        for terms, remaining in market.orders:
            book.restore(decode_order(terms), remaining)
        book.index = market.index
        for terms, size in market.held:
            book.restore_held(decode_order(terms), size)
    for account, deadline in snap.dead_man:
        engine.arm_dead_man(Address(account), deadline)
    return engine, ChainHead(snap.seq, snap.head)


def write_snapshot(path: str | os.PathLike[str], engine: Engine, head: ChainHead) -> None:
    """Write atomically: a crash leaves the previous snapshot or the new one, never half."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as file:
        file.write(snapshot_bytes(engine, head))
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, target)


def read_snapshot(
    path: str | os.PathLike[str],
    sink: EventSink | None = None,
    *,
    self_trade_prevention: bool = True,
) -> tuple[Engine, ChainHead]:
    return load_snapshot(Path(path).read_bytes(), sink, self_trade_prevention=self_trade_prevention)
