"""A gateway's view of the engine shards through its replicas, taking no commands: the
:class:`~perpdex.gateway.command_sink.CommandSink` of the HTTP reader of cluster mode, and
the base of the cluster gateway's (:class:`~perpdex.cluster.gateway_commands.
JetStreamCommands`, which adds publishing and answers).

The replicas (:class:`~perpdex.cluster.replicas.ReplicaSet`: an engine per shard, all on
the gateway's event bus) tell this sink where each entry begins and ends. Every new order
the engines accept is registered as one of the gateway's records, whoever placed it (a
gateway, or before this process started), so that the gateway's registry, feeds and risk
check hold every open order of every shard, as the embedded gateway's hold the engine's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from nats.aio.client import Client

from perpdex.cluster.replicas import ReplicaSet
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.core.eip712 import Eip712Domain, SignedOrder
from perpdex.core.types import MarketId, OrderId
from perpdex.engine.clock import ManualClock
from perpdex.engine.commands import Amend, Command, NewOrder
from perpdex.engine.config import MarketConfig
from perpdex.engine.journal import Journal
from perpdex.engine.matching import MatchingEngine
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.command_sink import JournalPoint, Outcome
from perpdex.gateway.feeds import Feeds
from perpdex.gateway.orders import OrderRecord, OrderRegistry
from perpdex.gateway.protocol import ErrorCode, ProtocolError
from perpdex.settlement.payload import order_from_payload


class ReplicaCommands:
    """Every shard's replica on one bus; a command sent here is refused (``forbidden``):
    orders go to a gateway."""

    def __init__(
        self,
        nc: Client,
        layout: StreamLayout,
        markets: Iterable[MarketConfig],
        domain: Eip712Domain,
    ) -> None:
        self.layout = layout
        self.domain = domain
        self._clock = ManualClock()
        self.replicas = ReplicaSet(nc, layout, markets, book_deltas=True, listener=self)
        self._markets = MappingProxyType(self.replicas.books)
        self._feeds: Feeds | None = None
        self._registry: OrderRegistry | None = None
        self._release: Callable[[], None] = lambda: None

    async def stop(self) -> None:
        await self.replicas.stop()

    # -- CommandSink ----------------------------------------------------------------------

    @property
    def engine(self) -> ReplicaCommands:
        return self

    @property
    def markets(self) -> Mapping[MarketId, MatchingEngine]:
        return self._markets

    @property
    def clock(self) -> ManualClock:
        """The stamp of the entry being applied (or last applied), of any shard."""
        return self._clock

    @property
    def seq(self) -> int:
        return max(self.replicas.seqs())

    @property
    def journal(self) -> Journal | None:
        return None

    def attach(
        self,
        feeds: Feeds,
        registry: OrderRegistry,
        accounts: AccountLog,
        release: Callable[[], None],
    ) -> None:
        self._feeds, self._registry, self._release = feeds, registry, release

    def next_order_id(self) -> OrderId:
        return OrderId(0)  # the engine numbers the order by its stream sequence

    async def place(self, command: NewOrder, record: OrderRecord) -> Outcome:
        raise _read_only()

    async def submit(self, command: Command, signed: SignedOrder | None = None) -> Outcome:
        raise _read_only()

    def submit_detached(self, command: Command) -> None:
        raise _read_only()

    def flush(self) -> None:
        """Nothing to do: the entries the replicas apply are the journal's (durable)."""

    def tick(self) -> bool:
        return False  # the engine ticks its timers; their entries come through the journal

    # -- ReplicaListener ------------------------------------------------------------------

    def entry_begins(self, shard: ShardId, time: int, command: Command) -> None:
        feeds, registry = self._feeds, self._registry
        assert feeds is not None and registry is not None, "attach first"
        self._clock.time = time
        feeds.begin_command()
        if type(command) is NewOrder and registry.by_id(command.order_id) is None:
            record = self._waiting_record(shard, command)
            if record is None:  # another gateway's, or placed before this one started
                record = OrderRecord(
                    order_id=command.order_id,
                    market=command.market,
                    signed=order_from_payload(command.payload, self.domain),
                    client_id=command.client_id,
                    request_id=None,
                    origin=None,
                )
            record.order_id = command.order_id
            registry.add(record)
        elif type(command) is Amend and command.payload:
            feeds.amending = order_from_payload(command.payload, self.domain)

    def entry_ends(self, shard: ShardId, seq: int, command: Command) -> None:
        feeds, registry = self._feeds, self._registry
        assert feeds is not None and registry is not None, "attach first"
        head = self.replicas.followers[shard].head  # this entry's: set before the hook
        outcome = Outcome(
            seq,
            rejection=feeds.rejection,
            filled=feeds.filled,
            cancelled=feeds.cancelled,
            entry=JournalPoint(shard, head.head, self._clock.time),
        )
        feeds.end_command()
        feeds.amending = None
        if self._answer(shard, command, outcome):
            return
        if type(command) is NewOrder and outcome.rejection is not None:
            record = registry.by_id(command.order_id)
            if record is not None:  # nobody answers it here: its nonce is not spent
                registry.discard(record)

    def message_applied(self, shard: ShardId) -> None:
        self._release()

    # -- what a sink that sends commands adds ---------------------------------------------

    def _waiting_record(self, shard: ShardId, command: NewOrder) -> OrderRecord | None:
        """The record of a request of this process waiting for ``command`` (none here)."""
        return None

    def _answer(self, shard: ShardId, command: Command, outcome: Outcome) -> bool:
        """Answer the request of this process waiting for ``command``; False if none."""
        return False


def _read_only() -> ProtocolError:
    return ProtocolError(ErrorCode.FORBIDDEN, "a reader takes no commands: send them to a gateway")
