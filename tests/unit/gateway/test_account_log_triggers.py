"""A trigger order's frames: ``untriggered`` when it is held, ``triggered`` (with the index
price) when an index price releases it, then its fills; its history shows the state; and
a replay of the journal numbers the same frames."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import msgspec
from tests.integration.gateway_testing import DOMAIN, MAKER, MARKETS, TAKER
from tests.unit.gateway.test_account_log import _new, _restart, _stored

from perpdex.core.types import MarketId, Price, TriggerDirection
from perpdex.engine.clock import ManualClock
from perpdex.engine.commands import IndexPrice
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventBus
from perpdex.engine.file_journal import FileJournal
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway import protocol as wire
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.account_store import AccountStore

MARKET = MarketId(0)
NOW_MS = 1_000_000


def test_a_stop_is_untriggered_then_triggered_then_filled(tmp_path: Path) -> None:
    journal_path, store_path = tmp_path / "journal.bin", tmp_path / "accounts.sqlite"
    log = AccountLog(AccountStore(store_path), DOMAIN)
    live: list[bytes] = []
    log.attach(lambda account, frame: live.append(frame) if account == TAKER.address else None)
    bus = EventBus()
    bus.subscribe(log.on_event)
    journal = FileJournal(journal_path)
    sequencer = Sequencer(Engine(MARKETS, bus), ManualClock(NOW_MS), journal)
    stop = replace(
        _new(TAKER, 1, 1, is_buy=True, size=1000),
        trigger=TriggerDirection.AT_OR_ABOVE,
        trigger_price=Price(1100),
    )
    sequencer.submit(stop)
    sequencer.submit(_new(MAKER, 2, 1, is_buy=False, size=1000))
    sequencer.submit(IndexPrice(market=MARKET, price=Price(1099)))  # not yet
    sequencer.flush()
    log.commit()
    orders = dict(log.orders(TAKER.address, 0, 10))
    held = msgspec.json.decode(orders[1], type=wire.HistoricalOrder)
    assert held.state is wire.OrderState.UNTRIGGERED
    assert (held.trigger_price, held.trigger_direction) == (1100, 1)
    sequencer.submit(IndexPrice(market=MARKET, price=Price(1100)))
    sequencer.flush()
    log.commit()
    frames = [msgspec.json.decode(f, type=wire.AccountEvent) for f in live]
    assert [(type(f).__name__, getattr(f, "status", None)) for f in frames] == [
        ("OrderUpdate", wire.OrderStatus.UNTRIGGERED),
        ("OrderUpdate", wire.OrderStatus.TRIGGERED),
        ("Fill", None),
    ]
    triggered = frames[1]
    assert isinstance(triggered, wire.OrderUpdate)
    assert (triggered.index_price, triggered.size, triggered.account_seq) == (1100, 1000, 2)
    done = msgspec.json.decode(dict(log.orders(TAKER.address, 0, 10))[1], type=wire.HistoricalOrder)
    assert done.state is wire.OrderState.FILLED
    log.close(commit=True)
    journal.close()

    stored = _stored(store_path)[TAKER.address]
    assert stored == live
    store_path.unlink()  # lost: the replay numbers the same frames
    _restart(journal_path, store_path).close(commit=True)
    assert _stored(store_path)[TAKER.address] == live


def test_a_resting_take_profit_held_again_says_so_with_what_is_left(tmp_path: Path) -> None:
    log = AccountLog(AccountStore(tmp_path / "accounts.sqlite"), DOMAIN)
    live: list[bytes] = []
    log.attach(lambda account, frame: live.append(frame) if account == MAKER.address else None)
    bus = EventBus()
    bus.subscribe(log.on_event)
    sequencer = Sequencer(Engine(MARKETS, bus), ManualClock(NOW_MS))
    take_profit = replace(
        _new(MAKER, 1, 1, is_buy=False, size=3000),
        trigger=TriggerDirection.AT_OR_ABOVE,
        trigger_price=Price(900),
    )
    sequencer.submit(take_profit)
    sequencer.submit(IndexPrice(market=MARKET, price=Price(950)))  # released: rests at 1000
    sequencer.submit(_new(TAKER, 2, 1, is_buy=True, size=1000))  # takes a third
    sequencer.submit(IndexPrice(market=MARKET, price=Price(899)))  # below its trigger again
    log.commit()
    frames = [msgspec.json.decode(f, type=wire.AccountEvent) for f in live]
    updates = [(f.status, f.size, f.index_price) for f in frames if isinstance(f, wire.OrderUpdate)]
    assert updates == [
        (wire.OrderStatus.UNTRIGGERED, 3000, None),
        (wire.OrderStatus.TRIGGERED, 3000, 950),
        (wire.OrderStatus.UNTRIGGERED, 2000, 899),
    ]
    stored = dict(log.orders(MAKER.address, 0, 10))[1]
    history = msgspec.json.decode(stored, type=wire.HistoricalOrder)
    assert (history.state, history.filled) == (wire.OrderState.UNTRIGGERED, 1000)
    log.close(commit=True)
