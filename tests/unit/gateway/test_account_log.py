"""The account log numbers each account's events from the journal alone: a crash (events
of durable commands never stored), a lost store and a store of another journal all give
either the same numbers as the live run or a clear error, never different numbers."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from tests.integration.gateway_testing import DOMAIN, MAKER, MARKETS, TAKER, signed

from perpdex.core.signing import SigningKey
from perpdex.core.types import Address, ClientOrderId, MarketId, OrderId, Price, Side, Size
from perpdex.engine.clock import ManualClock
from perpdex.engine.commands import Amend, Cancel, Command, NewOrder
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventBus
from perpdex.engine.file_journal import FileJournal
from perpdex.engine.replay import recover
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway import account_log
from perpdex.gateway import protocol as wire
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.account_store import AccountStore, AccountStoreError
from perpdex.settlement.payload import order_payload

MARKET = MarketId(0)
NOW_MS = 1_000_000
EXPIRY = NOW_MS // 1000 + 3600
"""Fixed, so an order signed twice (the amend, then its expected hash) hashes the same."""


def _new(key: SigningKey, order_id: int, nonce: int, *, is_buy: bool, size: int) -> NewOrder:
    order = signed(key, nonce, is_buy=is_buy, size=size, expiry=EXPIRY)
    return NewOrder(
        market=MARKET,
        order_id=OrderId(order_id),
        account=key.address,
        side=Side.BUY if is_buy else Side.SELL,
        price=Price(1000),
        size=Size(size),
        client_id=ClientOrderId(f"c{order_id}"),
        payload=order_payload(order),
    )


def _commands() -> list[list[Command]]:
    """Two groups of commands (each group becomes durable at once): two asks, a bid that
    fills one and half the other, an amend of that one to a new total, a bid that fills
    it again, its cancel, a resting ask."""
    amended = signed(MAKER, 9, is_buy=False, size=3000, expiry=EXPIRY)
    return [
        [
            _new(MAKER, 1, 1, is_buy=False, size=2000),
            _new(MAKER, 2, 2, is_buy=False, size=2000),
            _new(TAKER, 3, 1, is_buy=True, size=3000),  # fills 1, half of 2
        ],
        [
            Amend(
                market=MARKET,
                order_id=OrderId(2),
                price=Price(1000),
                size=Size(3000),
                payload=order_payload(amended),
            ),
            _new(TAKER, 4, 2, is_buy=True, size=1000),
            Cancel(MARKET, OrderId(2)),
            _new(MAKER, 5, 3, is_buy=False, size=1000),
        ],
    ]


Events = dict[Address, list[bytes]]


def _stored(path: Path) -> Events:
    store = AccountStore(path)
    try:
        return {k.address: [d for _, d in store.events(k.address, 0, 100)] for k in (MAKER, TAKER)}
    finally:
        store.close()


def _restart(journal_path: Path, store_path: Path) -> AccountLog:
    """A node's start: the log on its store, fed by the replay of the journal."""
    log = AccountLog(AccountStore(store_path), DOMAIN)
    bus = EventBus()
    bus.subscribe(log.on_event)
    journal = FileJournal(journal_path)
    try:
        recover(journal, MARKETS, bus)
        log.caught_up(journal.head.seq)
    finally:
        journal.close()
    return log


def test_account_event_numbers_survive_a_crash_and_a_lost_store(tmp_path: Path) -> None:
    journal_path, store_path = tmp_path / "journal.bin", tmp_path / "accounts.sqlite"
    live: Events = {MAKER.address: [], TAKER.address: []}
    log = AccountLog(AccountStore(store_path), DOMAIN)
    log.attach(lambda account, frame: live[account].append(frame))
    bus = EventBus()
    bus.subscribe(log.on_event)
    journal = FileJournal(journal_path)
    sequencer = Sequencer(Engine(MARKETS, bus), ManualClock(NOW_MS), journal)
    first, second = _commands()
    for command in first:
        sequencer.submit(command)
    sequencer.flush()
    log.commit()
    for command in second:
        sequencer.submit(command)
    sequencer.flush()  # durable, and sent: then the node dies before the store's commit
    log.close(commit=False)
    journal.close()

    assert [len(v) for v in _stored(store_path).values()] == [2, 2]  # only the first group
    assert [len(v) for v in live.values()] == [4, 3]
    _restart(journal_path, store_path).close(commit=True)
    assert _stored(store_path) == live  # the same frames, the same numbers

    store_path.unlink()  # lost: rebuilt from the journal alone
    _restart(journal_path, store_path).close(commit=True)
    assert _stored(store_path) == live
    maker = [msgspec.json.decode(f, type=wire.AccountEvent) for f in live[MAKER.address]]
    assert [e.account_seq for e in maker] == [1, 2, 3, 4]
    assert [type(e).__name__ for e in maker] == ["Fill", "Fill", "Fill", "OrderUpdate"]


def _live(tmp_path: Path) -> tuple[AccountLog, Sequencer, FileJournal]:
    """A live log on its store, its sequencer on a journal, the first group committed."""
    log = AccountLog(AccountStore(tmp_path / "accounts.sqlite"), DOMAIN)
    bus = EventBus()
    bus.subscribe(log.on_event)
    journal = FileJournal(tmp_path / "journal.bin")
    sequencer = Sequencer(Engine(MARKETS, bus), ManualClock(NOW_MS), journal)
    for command in _commands()[0]:
        sequencer.submit(command)
    sequencer.flush()
    log.commit()
    return log, sequencer, journal


def test_a_history_read_never_stores_changes_of_commands_not_yet_durable(
    tmp_path: Path,
) -> None:
    log, sequencer, journal = _live(tmp_path)
    for command in _commands()[1]:  # fill, amend and cancel order 2: not flushed yet
        sequencer.submit(command)
    orders = {
        o: msgspec.json.decode(d, type=wire.HistoricalOrder)
        for o, d in log.orders(MAKER.address, 0, 100)
    }  # the read writes the committed group: it must not take order 2's later state
    assert (orders[2].state, orders[2].filled, orders[2].size) == (wire.OrderState.OPEN, 1000, 2000)
    assert [s for s, _ in log.events(MAKER.address, 0, 100)] == [1, 2]
    log.close(commit=False)
    journal.close()
    assert [len(v) for v in _stored(tmp_path / "accounts.sqlite").values()] == [2, 2]


def test_committed_events_reach_the_store_once_a_group_is_full_without_a_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(account_log, "WRITE_ROWS", 4)  # the first group: 4 events, 3 orders
    log, _, journal = _live(tmp_path)
    assert [len(v) for v in _stored(tmp_path / "accounts.sqlite").values()] == [2, 2]
    log.close(commit=False)
    journal.close()


def test_a_store_ahead_of_its_journal_is_refused_not_renumbered(tmp_path: Path) -> None:
    journal_path, store_path = tmp_path / "journal.bin", tmp_path / "accounts.sqlite"
    bus = EventBus()
    log = AccountLog(AccountStore(store_path), DOMAIN)
    bus.subscribe(log.on_event)
    journal = FileJournal(journal_path)
    sequencer = Sequencer(Engine(MARKETS, bus), ManualClock(NOW_MS), journal)
    for group in _commands():
        for command in group:
            sequencer.submit(command)
    sequencer.flush()
    log.close(commit=True)
    journal.close()

    other = tmp_path / "other.bin"  # a shorter journal: not the one the store was made from
    short = FileJournal(other)
    shorter = Sequencer(Engine(MARKETS, EventBus()), ManualClock(NOW_MS), short)
    shorter.submit(_commands()[0][0])
    shorter.flush()
    short.close()
    with pytest.raises(AccountStoreError, match="belongs to another journal"):
        _restart(other, store_path)


def test_order_history_follows_fills_amends_and_cancels(tmp_path: Path) -> None:
    log = _replayed_log(tmp_path)
    orders = {
        o.order_id: o
        for o in (
            msgspec.json.decode(d, type=wire.HistoricalOrder)
            for _, d in log.orders(MAKER.address, 0, 100)
        )
    }
    amended = signed(MAKER, 9, is_buy=False, size=3000, expiry=EXPIRY)
    assert (orders[1].state, orders[1].filled) == (wire.OrderState.FILLED, 2000)
    assert (orders[2].state, orders[2].filled, orders[2].size) == (
        wire.OrderState.CANCELLED,
        2000,  # 1000 of the first taker, 1000 of the second after the amend
        3000,
    )
    assert orders[2].order_hash == wire.hex0x(amended.order_hash)
    assert (orders[5].state, orders[5].filled, orders[5].client_id) == (
        wire.OrderState.OPEN,
        0,
        "c5",
    )
    assert [o for o, _ in log.orders(MAKER.address, 1, 1)] == [2]  # paged by order id
    log.close(commit=False)


def _replayed_log(tmp_path: Path) -> AccountLog:
    journal_path = tmp_path / "journal.bin"
    journal = FileJournal(journal_path)
    sequencer = Sequencer(Engine(MARKETS, EventBus()), ManualClock(NOW_MS), journal)
    for group in _commands():
        for command in group:
            sequencer.submit(command)
    sequencer.flush()
    journal.close()
    return _restart(journal_path, tmp_path / "accounts.sqlite")


def test_events_of_two_shards_numbered_alike_all_reach_the_store() -> None:
    """In cluster mode one log takes the events of several shards' journals, each numbered
    by its own: an entry of shard 1 with the number of shard 0's last stored one must be
    stored too (a log that compared numbers only skipped it)."""
    log = AccountLog(AccountStore(), DOMAIN)
    bus = EventBus()
    bus.subscribe(log.on_event)
    shards = [Engine(MARKETS, bus), Engine(MARKETS, bus)]
    for shard, order_id in ((0, 1), (1, 2)):
        order = _new(MAKER, order_id, order_id, is_buy=False, size=2000)
        shards[shard].apply(1, NOW_MS, order)  # each shard's entries: seq 1, then 2
        shards[shard].apply(2, NOW_MS, Cancel(MARKET, OrderId(order_id)))
        log.commit()
        stored = log.events(MAKER.address, 0, 10)  # the cancels' order frames
        assert len(stored) == order_id
