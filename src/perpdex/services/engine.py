"""The engine and its sequencer over a file journal; a start is a replay of the journal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from perpdex.core.eip712 import Eip712Domain, SignedOrder
from perpdex.core.types import Address, Size
from perpdex.engine.book import Order
from perpdex.engine.clock import WallClock
from perpdex.engine.codec import decode
from perpdex.engine.commands import Amend, NewOrder
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.events import Event, EventBus, Rejected, Subscriber
from perpdex.engine.file_journal import FileJournal, read_file
from perpdex.engine.replay import replay
from perpdex.engine.sequencer import PositionSource, Sequencer
from perpdex.services.open_orders import open_orders
from perpdex.settlement.payload import order_from_payload


class EngineService:
    def __init__(
        self, journal_path: Path, markets: Iterable[MarketConfig], positions: PositionSource
    ) -> None:
        self.journal_path = journal_path
        self.markets = tuple(markets)
        self._positions = positions
        self._journal: FileJournal | None = None
        self._engine: Engine | None = None
        self._sequencer: Sequencer | None = None
        self._bus: EventBus | None = None

    @property
    def sequencer(self) -> Sequencer:
        assert self._sequencer is not None, "the engine is not running"
        return self._sequencer

    @property
    def bus(self) -> EventBus:
        assert self._bus is not None, "the engine is not running"
        return self._bus

    @property
    def running(self) -> bool:
        return self._sequencer is not None

    def now_ms(self) -> int:
        """The stamp of the command being applied, replayed or live (Unix ms, journaled): a
        subscriber that times events reads it and a replay gives it the same times."""
        assert self._engine is not None, "the engine is not running"
        return self._engine.clock.now()

    def start(self, replayed: Iterable[Subscriber], live: Iterable[Subscriber]) -> None:
        """Rebuild the engine from the journal. ``replayed`` subscribers see every event of
        the replay too; ``live`` ones only what follows."""
        bus = EventBus()
        for subscriber in replayed:
            bus.subscribe(subscriber)
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        journal = FileJournal(self.journal_path)
        # built before the replay, so that now_ms reads the stamps of the replayed commands
        engine = self._engine = Engine(self.markets, bus)
        replay(engine, journal)
        for subscriber in live:
            bus.subscribe(subscriber)
        self._journal = journal
        self._bus = bus
        self._sequencer = Sequencer(engine, WallClock(), journal, positions=self._positions)

    def open_orders(self, domain: Eip712Domain) -> list[tuple[NewOrder, SignedOrder, Size]]:
        """Every resting and held order with its signed order and open size."""
        return open_orders(self.sequencer.engine.markets, domain)

    def resting(self, accounts: Iterable[Address] | None = None) -> list[Order]:
        """Every resting order, or those of ``accounts``, market by market."""
        found: list[Order] = []
        for book in self.sequencer.engine.markets.values():
            if accounts is None:
                found += book.resting_orders()
            else:
                found += [
                    order for account in sorted(accounts) for order in book.orders_of(account)
                ]
        return found

    def stop(self, *, flush: bool = True) -> None:
        """``flush=False`` is a crash: commands not yet flushed are lost (never acked)."""
        if self._sequencer is not None and flush:
            self._sequencer.flush()
        if self._journal is not None:
            self._journal.close()
        self._journal = self._engine = self._sequencer = self._bus = None


def replay_events(
    journal_path: Path, markets: Iterable[MarketConfig], subscriber: Subscriber
) -> None:
    """Replay the journal on disk into a scratch engine whose events go to ``subscriber``
    (a restarted settlement runner relearns its fills this way)."""
    bus = EventBus(book_deltas=False)
    bus.subscribe(subscriber)
    journal = FileJournal(journal_path)
    try:
        replay(Engine(markets, bus), journal)
    finally:
        journal.close()


def accepted_orders(
    journal_path: Path, markets: Iterable[MarketConfig], domain: Eip712Domain
) -> Iterator[SignedOrder]:
    """Every signed order the engine took (placed or amended to, not rejected), from the
    journal on disk through a scratch engine: a restarted gateway refuses their replays.
    Yielded as read, so a restart holds no list of the whole history."""
    rejected = 0  # the last rejected command's seq

    def note(event: Event) -> None:
        nonlocal rejected
        if isinstance(event, Rejected):
            rejected = event.seq

    bus = EventBus(book_deltas=False)
    bus.subscribe(note)
    engine = Engine(markets, bus)
    for item in read_file(journal_path):
        seq, time, command = decode(item.entry)
        engine.apply(seq, time, command)
        # an amend without a payload keeps the order's signed order
        if isinstance(command, NewOrder | Amend) and command.payload and rejected != seq:
            yield order_from_payload(command.payload, domain)
