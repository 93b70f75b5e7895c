"""The gateway's commands in cluster mode: published to the engine shards' command stream,
answered from the gateway's replicas of the shards.

:class:`JetStreamCommands` is the gateway's :class:`~perpdex.gateway.command_sink.
CommandSink` when the engine runs elsewhere. A command goes out with
``perpdex.cluster.commands`` (its wire form, shard(s) and message id) and counts as taken
once JetStream acknowledged it (stored on a majority of the stream's replicas): a publish
JetStream does not confirm is the protocol's ``unavailable`` error, never an
acknowledgement. The answer then waits (up to ``wait_s``) for the gateway's replica of the
shard to apply the command, so that it says what the protocol promises (an order's engine
seq and accepted size, a rejection, a cancel-all's count); past the wait the gateway
answers with what it knows (``applied`` false: durable, and an order's id, the stream
sequence the engine numbers it by) and the outcome follows as account events.

The gateway's replicas tell this sink where each entry begins and ends (what it shares
with the reader's sink, :class:`~perpdex.cluster.replica_commands.ReplicaCommands`).
An entry is matched to the command waiting for it by its shard and, for a new order, its
signed payload, otherwise the command itself (the engine journals a published command as
it came, but for a new order's id and stamped position); equal commands waiting on one
shard are answered in publish order. New orders of other gateways (or placed before this
one started) are registered as this gateway's records too, so that their margin counts
in its risk check and they can be cancelled or amended through it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from itertools import count
from typing import Final

from nats.aio.client import Client

from perpdex.cluster.commands import Routed, routes
from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.replica_commands import ReplicaCommands
from perpdex.cluster.streams import ShardId, StreamLayout, publish_to_shard
from perpdex.core.eip712 import Eip712Domain, SignedOrder
from perpdex.core.types import OrderId
from perpdex.engine.commands import Command, NewOrder, Tick
from perpdex.engine.config import MarketConfig
from perpdex.engine.sequencer import PositionSource
from perpdex.gateway.command_sink import Outcome
from perpdex.gateway.orders import OrderRecord
from perpdex.gateway.protocol import ErrorCode, ProtocolError

log = logging.getLogger(__name__)

WAIT_S: Final = 2.0
"""How long an answer waits for the replica to apply its command."""
PUBLISH_TIMEOUT_S: Final = 2.0
"""How long a publish waits for JetStream's ack before the request is ``unavailable``."""


@dataclass(slots=True, eq=False)
class _Waiter:
    """A request waiting for its command's entry on a shard (``key``); ``record``: a new
    order's, registered when the entry begins (its order id is the entry's)."""

    key: tuple[ShardId, Hashable]
    future: asyncio.Future[Outcome]
    record: OrderRecord | None


class JetStreamCommands(ReplicaCommands):
    """Commands to the shards' command stream, outcomes from this gateway's replicas;
    ``name`` tells this gateway's commands from another's (their message ids)."""

    def __init__(
        self,
        nc: Client,
        layout: StreamLayout,
        markets: Iterable[MarketConfig],
        domain: Eip712Domain,
        *,
        name: str,
        positions: PositionSource,
        wait_s: float = WAIT_S,
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
    ) -> None:
        super().__init__(nc, layout, markets, domain)
        self._js = nc.jetstream()
        self._positions = positions
        self._wait_s = wait_s
        self._publish_timeout_s = publish_timeout_s
        # unique per process start, so a restarted gateway's commands are never taken for
        # the ones of its previous life within the de-duplication window
        self._origin = name.encode() + os.urandom(8)
        self._published = count()
        self._waiting: dict[tuple[ShardId, Hashable], deque[_Waiter]] = {}
        self._detached: set[asyncio.Task[Outcome]] = set()

    async def stop(self) -> None:
        """Stop the commands nobody waits for, and the replicas."""
        for task in list(self._detached):
            task.cancel()
        await super().stop()

    # -- CommandSink ----------------------------------------------------------------------

    async def place(self, command: NewOrder, record: OrderRecord) -> Outcome:
        if command.reduce_only:
            position = self._positions(command.account, command.market)
            command = replace(command, position=position)
        (part,) = routes(command, self.layout, order_hash=record.signed.order_hash)
        self._check_replicas([part])
        (waiter,) = self._expect([part], record)
        try:
            (ack,) = await self._publish([part], [waiter])
        except BaseException:
            self._forget(waiter)
            raise
        outcome = await self._outcome([waiter])
        if not outcome.applied and record.order_id == 0:
            record.order_id = OrderId(ack)
            registry = self._registry
            assert registry is not None, "attach first"
            if registry.by_id(record.order_id) is None:
                registry.add(record)
        return outcome

    async def submit(self, command: Command, signed: SignedOrder | None = None) -> Outcome:
        if isinstance(command, Tick):
            raise TypeError("the engine ticks its own timers")
        parts = routes(command, self.layout, origin=self._next_origin())
        self._check_replicas(parts)
        waiters = self._expect(parts, None)
        try:
            await self._publish(parts, waiters)
        except BaseException:
            for waiter in waiters:
                self._forget(waiter)
            raise
        return await self._outcome(waiters)

    def submit_detached(self, command: Command) -> None:
        task = asyncio.get_running_loop().create_task(self.submit(command))
        self._detached.add(task)
        task.add_done_callback(self._detached_done)

    # -- ReplicaListener hooks -------------------------------------------------------------

    def _waiting_record(self, shard: ShardId, command: NewOrder) -> OrderRecord | None:
        waiter = self._first(shard, command)
        return waiter.record if waiter is not None else None

    def _answer(self, shard: ShardId, command: Command, outcome: Outcome) -> bool:
        waiter = self._first(shard, command)
        if waiter is None:
            return False
        self._forget(waiter)
        if not waiter.future.done():  # its request may be gone (cancelled)
            waiter.future.set_result(outcome)
        return True

    # -- helpers --------------------------------------------------------------------------

    def _check_replicas(self, parts: list[Routed]) -> None:
        """A replica that stopped (a bad journal entry) can neither answer nor back the
        risk check of its shard: its commands are refused before anything is published."""
        for part in parts:
            failed = self.replicas.followers[part.shard].failed
            if failed is not None:
                raise ProtocolError(
                    ErrorCode.UNAVAILABLE, f"this gateway's replica of shard {part.shard} stopped"
                )

    def _expect(self, parts: list[Routed], record: OrderRecord | None) -> list[_Waiter]:
        loop = asyncio.get_running_loop()
        waiters = []
        for part in parts:
            key = (part.shard, _key(part.command))
            waiter = _Waiter(key, loop.create_future(), record)
            self._waiting.setdefault(key, deque()).append(waiter)
            waiters.append(waiter)
        return waiters

    def _first(self, shard: ShardId, command: Command) -> _Waiter | None:
        waiters = self._waiting.get((shard, _key(command)))
        return waiters[0] if waiters else None

    def _forget(self, waiter: _Waiter) -> None:
        waiters = self._waiting.get(waiter.key)
        if waiters is not None and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiting[waiter.key]

    async def _publish(self, parts: list[Routed], waiters: list[_Waiter]) -> list[int]:
        """Publish every part; returns their stream sequences once all are durable."""
        acks = []
        try:
            for part in parts:
                ack = await publish_to_shard(
                    self._js,
                    self.layout,
                    part.shard,
                    part.data,
                    part.msg_id,
                    timeout_s=self._publish_timeout_s,
                )
                acks.append(ack.stream_seq)
        except JetStreamUnavailableError as error:
            log.warning("command not taken: %s", error)
            raise ProtocolError(
                ErrorCode.UNAVAILABLE,
                "the command stream did not confirm the command: not taken, try again",
            ) from error
        return acks

    async def _outcome(self, waiters: list[_Waiter]) -> Outcome:
        """The outcome of a command's entries (one per shard it went to), or ``applied``
        False if not all came within the wait."""
        futures = [waiter.future for waiter in waiters]
        await asyncio.wait(futures, timeout=self._wait_s)
        if not all(future.done() for future in futures):
            for waiter in waiters:
                self._forget(waiter)
            return Outcome(0, applied=False)
        outcomes = [future.result() for future in futures]
        return Outcome(
            max(outcome.seq for outcome in outcomes),
            rejection=next((o.rejection for o in outcomes if o.rejection is not None), None),
            filled=any(outcome.filled for outcome in outcomes),
            cancelled=sum(outcome.cancelled for outcome in outcomes),
            # an order or amend is one entry; a command of several shards has no one place
            entry=outcomes[0].entry if len(outcomes) == 1 else None,
        )

    def _next_origin(self) -> bytes:
        return self._origin + next(self._published).to_bytes(8, "big")

    def _detached_done(self, task: asyncio.Task[Outcome]) -> None:
        self._detached.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a command nobody waits for was not taken: %s", task.exception())


def _key(command: Command) -> Hashable:
    """What tells a command's journal entry: a new order's signed payload (the engine sets
    its id and stamped position), any other command itself."""
    return command.payload if type(command) is NewOrder else command
