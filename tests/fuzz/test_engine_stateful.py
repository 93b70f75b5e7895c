"""Stateful fuzzing of the engine: random commands, invariants checked after every one.

Invariants: the book never crosses; every order's size is conserved (what the events say
is left of it is exactly what rests or is held in the engine: filled + cancelled + expired
+ open = accepted size, per order and in total); levels hold what their orders hold; fills
obey both limit prices; a rejected command leaves the books alone; a trigger order is
held exactly while the last index price does not cross its trigger (released when one
does, held again when one no longer does, with what is left of it). At the end, the
journal replays to the same events and state.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from tests.unit.engine.engine_testing import Harness

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
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    CancelReason,
    ChainCancel,
    ChainHead,
    Command,
    EventBus,
    FileJournal,
    IndexPrice,
    NewOrder,
    SetDeadMan,
    StpMode,
    Tick,
    recover,
    snapshot_bytes,
)
from perpdex.engine.events import (
    Accepted,
    Amended,
    Cancelled,
    Event,
    Filled,
    Rejected,
    Triggered,
    Untriggered,
)
from perpdex.engine.held import crossed
from perpdex.engine.snapshot import load_snapshot

M = MarketId(0)
ACCOUNTS = [Address(f"0x{n:040x}") for n in (1, 2, 3)]
accounts = st.sampled_from(ACCOUNTS)
prices = st.integers(95, 105).map(Price)
sizes = st.integers(1, 12).map(Size)
client_ids = st.none() | st.sampled_from(["a", "b", "c"]).map(ClientOrderId)
triggers = st.sampled_from([TriggerDirection.AT_OR_ABOVE, TriggerDirection.AT_OR_BELOW])


class EngineMachine(RuleBasedStateMachine):
    self_trade_prevention = True

    @initialize()
    def start(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.journal = FileJournal(Path(self.folder.name) / "journal.bin")
        self.harness = Harness(
            self_trade_prevention=self.self_trade_prevention,
            positions=lambda account, market: (ACCOUNTS.index(account) - 1) * 6,
            journal=self.journal,
        )
        self.ids: list[int] = []
        self.limits: dict[int, tuple[Side, int]] = {}  # accepted order -> (side, limit)
        self.terms: dict[int, NewOrder] = {}  # accepted order -> its terms

    def submit(self, command: Command) -> None:
        before = self.resting()
        events = self.harness.submit(command)
        for event in events:
            self.check_event(event)
        if [type(event) for event in events] == [Rejected]:
            assert self.resting() == before

    def check_event(self, event: Event) -> None:
        if isinstance(event, Accepted):
            self.limits[event.order.order_id] = (event.order.side, event.order.price)
            self.terms[event.order.order_id] = event.order
        elif isinstance(event, Triggered):
            # released only by an index price that crosses its trigger
            assert crossed(self.terms[event.order_id], event.index_price)
        elif isinstance(event, Untriggered):
            # held again only by one that no longer does
            assert not crossed(self.terms[event.order_id], event.index_price)
        elif isinstance(event, Amended):
            self.limits[event.order_id] = (self.limits[event.order_id][0], event.price)
        elif isinstance(event, Filled):
            taker_side, taker_limit = self.limits[event.taker_order_id]
            maker_side, maker_price = self.limits[event.maker_order_id]
            assert taker_side is event.taker_side is not maker_side
            assert event.price == maker_price  # fills at the resting order's price
            assert (taker_limit - event.price) * taker_side >= 0  # within the taker's limit
            assert event.size > 0

    def resting(self) -> list[tuple[int, int, int]]:
        """(id, price, open size) of the resting orders, then of the held ones."""
        book = self.harness.engine.markets[M]
        return [
            (order.command.order_id, order.command.price, order.remaining)
            for order in book.resting_orders()
        ] + [
            (order.order_id, order.price, book.held.open[order.order_id])
            for order in book.held.in_id_order()
        ]

    @rule(
        side=st.sampled_from(Side),
        price=prices,
        size=sizes,
        account=accounts,
        tif=st.sampled_from(Tif),
        stp=st.sampled_from(StpMode),
        client_id=client_ids,
        reduce_only=st.booleans(),
        expiry=st.sampled_from([0, 0, 0, 5, 30]),
        trigger=st.none() | triggers,
        trigger_price=prices,
    )
    def new_order(
        self,
        side: Side,
        price: Price,
        size: Size,
        account: Address,
        tif: Tif,
        stp: StpMode,
        client_id: ClientOrderId | None,
        reduce_only: bool,
        expiry: int,
        trigger: TriggerDirection | None,
        trigger_price: Price,
    ) -> None:
        order_id = self.harness.next_id
        self.harness.next_id += 1
        self.ids.append(order_id)
        self.submit(
            NewOrder(
                market=M,
                order_id=OrderId(order_id),
                account=account,
                side=side,
                price=price,
                size=size,
                tif=tif,
                client_id=client_id,
                reduce_only=reduce_only and tif is not Tif.FOK,
                expiry=self.harness.clock.time + expiry if expiry else 0,
                stp=stp,
                trigger=TriggerDirection.NONE if trigger is None else trigger,
                trigger_price=Price(0) if trigger is None else trigger_price,
            )
        )

    @rule(price=st.integers(93, 107).map(Price))
    def index_price(self, price: Price) -> None:
        self.submit(IndexPrice(market=M, price=price))

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.ids) if self.ids else st.just(1))
        self.submit(Cancel(M, OrderId(order_id)))

    @rule(account=accounts, client_id=client_ids)
    def cancel_by_client_id(self, account: Address, client_id: ClientOrderId | None) -> None:
        self.submit(CancelByClientId(M, account, client_id or ClientOrderId("a")))

    @rule(account=accounts, everywhere=st.booleans())
    def cancel_all(self, account: Address, everywhere: bool) -> None:
        self.submit(CancelAccount(account) if everywhere else CancelAll(M, account))

    @rule(data=st.data(), price=prices, size=sizes)
    def amend(self, data: st.DataObject, price: Price, size: Size) -> None:
        order_id = data.draw(st.sampled_from(self.ids) if self.ids else st.just(1))
        self.submit(Amend(market=M, order_id=OrderId(order_id), price=price, size=size))

    @rule(account=accounts, delay=st.sampled_from([0, 3, 20]))
    def dead_man(self, account: Address, delay: int) -> None:
        self.submit(SetDeadMan(account, self.harness.clock.time + delay if delay else 0))

    @rule(
        data=st.data(), reason=st.sampled_from([CancelReason.ON_CHAIN, CancelReason.FILL_REJECTED])
    )
    def chain_cancel(self, data: st.DataObject, reason: CancelReason) -> None:
        chosen = data.draw(
            st.lists(st.sampled_from(self.ids), max_size=4) if self.ids else st.just([])
        )
        was_resting = {order_id for order_id, _, _ in self.resting()}
        events = self.harness.submit(
            ChainCancel(orders=tuple((M, OrderId(i)) for i in chosen), reason=reason)
        )
        for event in events:
            self.check_event(event)
        # exactly the named orders that rested leave the book, each once, with the reason
        cancelled = [e.order_id for e in events if isinstance(e, Cancelled)]
        assert sorted(cancelled) == sorted(was_resting & set(chosen))
        assert all(e.reason is reason for e in events if isinstance(e, Cancelled))
        assert not {order_id for order_id, _, _ in self.resting()} & set(chosen)

    @rule(elapsed=st.integers(1, 25))
    def time_passes(self, elapsed: int) -> None:
        self.harness.clock.time += elapsed
        self.submit(Tick())

    @invariant()
    def book_never_crosses(self) -> None:
        book = self.harness.engine.markets[M]
        bid, ask = book.best_bid(), book.best_ask()
        if bid is not None and ask is not None:
            assert bid < ask

    @invariant()
    def levels_hold_what_their_orders_hold(self) -> None:
        book = self.harness.engine.markets[M]
        for side in (book.bids, book.asks):
            for level in side.depth():
                assert level.orders
                assert level.total == sum(order.remaining for order in level.orders.values())
                assert all(order.remaining > 0 for order in level.orders.values())
                assert all(order.command.price == level.price for order in level.orders.values())

    @invariant()
    def held_exactly_while_the_index_does_not_cross(self) -> None:
        book = self.harness.engine.markets[M]
        assert not any(crossed(order, book.index) for order in book.held.in_id_order())
        resting = [order.command for order in book.resting_orders() if order.command.trigger]
        assert all(crossed(terms, book.index) for terms in resting)

    @invariant()
    def size_is_conserved(self) -> None:
        states = self.harness.states.orders
        for state in states.values():
            assert min(state.filled, state.cancelled, state.expired, state.remaining) >= 0
        resting = {(M, OrderId(order_id)): left for order_id, _, left in self.resting()}
        assert self.harness.states.open_orders() == resting
        fills = sum(e.size for e in self.harness.events if isinstance(e, Filled))
        assert sum(state.filled for state in states.values()) == 2 * fills
        assert sum(state.size for state in states.values()) == sum(
            state.filled + state.cancelled + state.expired for state in states.values()
        ) + sum(resting.values())

    def teardown(self) -> None:
        if not hasattr(self, "harness"):
            return
        # the books survive a snapshot round trip unchanged
        head = ChainHead(self.harness.sequencer.seq, bytes(32))
        data = snapshot_bytes(self.harness.engine, head)
        assert snapshot_bytes(load_snapshot(data)[0], head) == data
        # the journal replays to the same events (releases included) and the same state
        self.harness.sequencer.flush()
        replayed: list[Event] = []
        bus = EventBus()
        bus.subscribe(replayed.append)
        engine, _ = recover(
            FileJournal(Path(self.folder.name) / "journal.bin"),
            [book.config for book in self.harness.engine.markets.values()],
            bus,
            self_trade_prevention=self.self_trade_prevention,
        )
        assert replayed == self.harness.events
        assert snapshot_bytes(engine, head) == data
        self.journal.close()
        self.folder.cleanup()


class EngineWithoutStpMachine(EngineMachine):
    self_trade_prevention = False


SETTINGS = settings(
    max_examples=250,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngine = EngineMachine.TestCase
TestEngine.settings = SETTINGS
TestEngineWithoutStp = EngineWithoutStpMachine.TestCase
TestEngineWithoutStp.settings = SETTINGS
