"""The batcher as an asyncio service: engine fills in, ``settle`` rounds out, in a thread.

The runner subscribes to the engine's events and queues each fill. A round takes the
queued fills whose command is durable (``seq <= durable_seq()``: an engine crash can never
take back a fill that was sent) and settles them with a :class:`Batcher` in a worker
thread (web3 blocks). Every outcome goes to the listeners (the position manager).

Restarts. The highest sequence number up to which every fill has an outcome is kept in a
small file (:class:`SettledCursor`), written after each round. A restarted runner skips
fills up to it and queues the later ones again as the engine's journal replays them; one
that settled before the crash is refused by the contract and recognised from its
``Filled`` event (the batcher's rule 5), so no fill settles twice. A round that fails
(node down, a nonce taken by another sender) drops its batcher and retries next round
with a fresh one, which reads the operator's nonce again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from perpdex.core.eip712 import Eip712Domain
from perpdex.engine.events import Event, Filled
from perpdex.logs import report_failure, report_recovery
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import FillKey, FillOutcome, SettlementReport, fill_key
from perpdex.settlement.payload import match_from_fill

log = logging.getLogger(__name__)

Listener = Callable[[FillOutcome], None]


class SettledCursor:
    """A sequence number in a file, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seq = int(path.read_text()) if path.exists() else 0

    def advance(self, seq: int) -> None:
        if seq <= self.seq:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False) as handle:
            handle.write(f"{seq}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, self.path)
        self.seq = seq


class SettlementRunner:
    def __init__(
        self,
        make_batcher: Callable[[], Batcher],
        domain: Eip712Domain,
        cursor: SettledCursor,
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
        self.rounds = 0

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

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
        try:
            if self._batcher is None:
                self._batcher = await asyncio.to_thread(self._make_batcher)
            batcher: Batcher = self._batcher
            report: SettlementReport = await asyncio.to_thread(
                batcher.settle, [m for _, _, m in ready]
            )
        except Exception as error:  # retried next round by a fresh batcher (see the module doc)
            report_failure(log, self, "settlement round", error)
            self._batcher = None
            return None
        report_recovery(log, self, "settlement round")
        self.rounds += 1
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
        self.cursor.advance(self._settled_through(durable))
        self._done = {k: s for k, s in self._done.items() if s > self.cursor.seq}
        return report

    async def run(self, interval_s: float) -> None:
        while True:
            await self.settle_once()
            await asyncio.sleep(interval_s)

    def _settled_through(self, durable: int) -> int:
        waiting = [seq for seq, _ in self._queue.values()]
        return min([durable, *(seq - 1 for seq in waiting)])
