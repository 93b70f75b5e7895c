"""The batcher as an asyncio service: engine fills in, ``settle`` rounds out, in a thread.

The runner subscribes to the engine's events and queues each fill. A round takes the
queued fills whose command is durable (``seq <= durable_seq()``: an engine crash can never
take back a fill that was sent) and settles them with a :class:`Batcher` in a worker
thread (web3 blocks). Every outcome goes to the listeners (the position manager).

Restarts. The highest sequence number up to which every fill has an outcome is kept in a
small file (:class:`SettledCursor`), written after each round. A restarted runner skips
fills up to it and queues the later ones again as the engine's journal replays them. The
cursor trails the journal by the oldest fill still waiting, so many of those settled
before the crash: before its first round sends anything, the runner looks for their
``Filled`` events (``Batcher.settled_before``) and reports those it finds as
``Settled(earlier=True)`` without sending them (a resend costs gas and leaves a
``FillRejected`` of a settled fill on chain). One that settles after that look (a
transaction of the old run mined late) is refused by the contract and recognised from its
``Filled`` event (the batcher's rule 5), so no fill settles twice. A round that fails
(node down, a nonce taken by another sender) drops its batcher and retries with a fresh
one, which reads the operator's nonce again, waiting longer after each failure in a row.

A failure that is not a revert may also come from one fill (a payload the contract's ABI
refuses, a batcher bug on one fill), and would then repeat every round and stall
settlement for everyone. So after ``ISOLATE_AFTER_ROUNDS`` failed rounds in a row that
start with the same fill, the round settles its fills apart: in halves, down to one fill
(a fill-or-kill order's fills stay together), each half settling on its own. A fill that
fails alone while the node answers another call is ``Rejected`` (``FAILS_ALONE``, the error
as its cause) and goes to the listeners like any other rejection; if the node does not
answer, or the error is the node's or the operator account's (no connection, an RPC
error, not mined in time), it is an outage: nothing is rejected and the round is retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

from web3.exceptions import Web3RPCError

from perpdex.core.eip712 import Eip712Domain
from perpdex.core.types import TimeInForce
from perpdex.durable import write_atomic
from perpdex.engine.events import Event, Filled
from perpdex.logs import report_failure, report_recovery
from perpdex.settlement.batcher import Batcher, SubmissionError
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import (
    FillKey,
    FillOutcome,
    Rejected,
    RejectReason,
    SettlementReport,
    SettleTransaction,
    fill_key,
)
from perpdex.settlement.payload import match_from_fill

log = logging.getLogger(__name__)

Listener = Callable[[FillOutcome], None]

ISOLATE_AFTER_ROUNDS = 3
"""Failed rounds in a row, starting with the same fill, before its fills settle apart: a
bad fill holds the others back for about a second at the node's interval (with the
backoff), and a passing failure rarely costs a probe."""

MAX_RETRY_WAIT_S = 5.0
"""Longest wait between rounds while they keep failing (doubling from the interval)."""

_NOT_THE_FILL = (SubmissionError, OSError, Web3RPCError)
"""Failures of the node or of the operator's account, never of one fill: not mined in
time, no connection, the node refused the transaction (funds, fees, nonce)."""


class RoundFailedError(Exception):
    """A round that settled its fills apart failed part-way (an outage): ``settled`` holds
    the outcomes of the parts that went through before it."""

    def __init__(self, error: Exception, settled: SettlementReport) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.settled = settled


class Cursor(Protocol):
    """Where the fills of one engine's sequence all have an outcome: ``advance`` is told
    each time that point moves on (never backwards)."""

    @property
    def seq(self) -> int: ...

    def advance(self, seq: int) -> None: ...


class SettledCursor:
    """A sequence number in a file, replaced atomically (the embedded node's cursor)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seq = int(path.read_text()) if path.exists() else 0

    def advance(self, seq: int) -> None:
        if seq <= self.seq:
            return
        write_atomic(self.path, f"{seq}\n".encode())
        self.seq = seq


class SettlementRunner:
    def __init__(
        self,
        make_batcher: Callable[[], Batcher],
        domain: Eip712Domain,
        cursor: Cursor,
        durable_seq: Callable[[], int],
    ) -> None:
        self._make_batcher = make_batcher
        self._batcher: Batcher | None = None
        self._domain = domain
        self.cursor = cursor
        self.durable_seq = durable_seq
        self._queue: dict[FillKey, tuple[int, Match]] = {}  # engine order
        self._done: dict[FillKey, int] = {}  # outcomes above the cursor, by seq
        self._listeners: list[Listener] = []
        self._report_listeners: list[Callable[[SettlementReport], None]] = []
        self.rounds = 0
        self.failures = 0
        """Rounds in a row that failed, all starting with the fill ``_failing``."""
        self._failing: FillKey | None = None
        self._looked_on_chain = False
        """Whether the queued fills were looked for on chain (once, before the first send)."""

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def subscribe_reports(self, listener: Callable[[SettlementReport], None]) -> None:
        """Hear of each round's report (its transactions and outcomes) after its outcomes."""
        self._report_listeners.append(listener)

    def on_event(self, event: Event) -> None:
        if not isinstance(event, Filled) or event.seq <= self.cursor.seq:
            return
        try:
            match = match_from_fill(event, self._domain)
        except ValueError:
            log.exception("fill at seq %s carries no valid signed orders: not settled", event.seq)
            return
        key = fill_key(match)
        if key not in self._done:
            self._queue.setdefault(key, (event.seq, match))

    def forget_unsettled(self) -> None:
        """The engine restarts: its replay queues the durable fills again."""
        self._queue.clear()

    def unsettled(self) -> list[Match]:
        return [match for _, match in self._queue.values()]

    async def settle_once(self) -> SettlementReport | None:
        durable = self.durable_seq()
        ready = [(key, seq, m) for key, (seq, m) in self._queue.items() if seq <= durable]
        if not ready:
            self.cursor.advance(self._settled_through(durable))
            return None
        first = ready[0][0]
        matches = [m for _, _, m in ready]
        apart = self.failures >= ISOLATE_AFTER_ROUNDS and self._failing == first
        try:
            if self._batcher is None:
                self._batcher = await asyncio.to_thread(self._make_batcher)
            batcher: Batcher = self._batcher
            if not self._looked_on_chain:
                earlier = await asyncio.to_thread(batcher.settled_before, self.unsettled())
                self._publish(SettlementReport(tuple(earlier), ()), self._queued())
                self._looked_on_chain = True
                return await self.settle_once()
            settle = partial(self._settle_apart, batcher) if apart else batcher.settle
            report: SettlementReport = await asyncio.to_thread(settle, matches)
        except Exception as error:  # retried by a fresh batcher (see the module doc)
            report_failure(log, self, "settlement round", error)
            self._batcher = None
            self.failures = self.failures + 1 if self._failing == first else 1
            self._failing = first
            if isinstance(error, RoundFailedError):
                self._publish(error.settled, ready)
            return None
        report_recovery(log, self, "settlement round")
        self.failures, self._failing = 0, None
        self.rounds += 1
        self._publish(report, ready)
        for listener in self._report_listeners:
            listener(report)
        self.cursor.advance(self._settled_through(durable))
        self._done = {k: s for k, s in self._done.items() if s > self.cursor.seq}
        return report

    async def run(self, interval_s: float) -> None:
        while True:
            await self.settle_once()
            wait = interval_s * 2 ** min(self.failures, 16)
            await asyncio.sleep(min(wait, max(interval_s, MAX_RETRY_WAIT_S)))

    def _queued(self) -> list[tuple[FillKey, int, Match]]:
        return [(key, seq, match) for key, (seq, match) in self._queue.items()]

    def _publish(self, report: SettlementReport, ready: list[tuple[FillKey, int, Match]]) -> None:
        """Each outcome of ``report`` leaves the queue and goes to the listeners."""
        seqs = {key: seq for key, seq, _ in ready}
        for outcome in report.outcomes:
            key = fill_key(outcome.match)
            self._queue.pop(key, None)
            self._done[key] = seqs[key]
            for listener in self._listeners:
                try:
                    listener(outcome)
                except Exception:  # one listener's bug must not stop settlement for everyone
                    log.exception("settlement listener %r failed on fill %s", listener, key)

    def _settle_apart(self, batcher: Batcher, matches: list[Match]) -> SettlementReport:
        """Settle ``matches`` in halves down to single fills (in a worker thread), rejecting
        each that fails alone while the node answers; RoundFailedError on an outage."""
        outcomes: list[FillOutcome] = []
        transactions: list[SettleTransaction] = []
        try:
            self._apart(batcher, _whole_groups(matches), outcomes, transactions)
        except Exception as error:
            settled = SettlementReport(tuple(outcomes), tuple(transactions))
            raise RoundFailedError(error, settled) from error
        return SettlementReport(tuple(outcomes), tuple(transactions))

    def _apart(
        self,
        batcher: Batcher,
        groups: list[list[Match]],
        outcomes: list[FillOutcome],
        transactions: list[SettleTransaction],
    ) -> None:
        matches = [match for group in groups for match in group]
        try:
            report = batcher.settle(matches)
        except Exception as error:
            if len(groups) > 1:
                middle = len(groups) // 2
                self._apart(batcher, groups[:middle], outcomes, transactions)
                self._apart(batcher, groups[middle:], outcomes, transactions)
                return
            if isinstance(error, _NOT_THE_FILL) or not batcher.node_answers():
                raise
            cause = f"{type(error).__name__}: {error}"
            reason = RejectReason.FAILS_ALONE
            for match in matches:
                maker, taker = fill_key(match)
                log.warning(
                    "fill maker=%s taker=%s dropped: %s, while the node answers (%s)",
                    maker.hex(),
                    taker.hex(),
                    reason,
                    cause,
                )
                outcomes.append(Rejected(match, reason, cause=cause))
            return
        outcomes += report.outcomes
        transactions += report.transactions

    def _settled_through(self, durable: int) -> int:
        waiting = [seq for seq, _ in self._queue.values()]
        return min([durable, *(seq - 1 for seq in waiting)])


def _whole_groups(matches: list[Match]) -> list[list[Match]]:
    """``matches`` in runs that settle apart: one fill each, but the adjacent fills of one
    fill-or-kill taker together (it settles whole in one batch or not at all)."""
    groups: list[list[Match]] = []
    for match in matches:
        taker = match.taker
        if (
            groups
            and taker.order.time_in_force is TimeInForce.FOK
            and groups[-1][-1].taker.order_hash == taker.order_hash
        ):
            groups[-1].append(match)
        else:
            groups.append([match])
    return groups
