"""Every settlement outcome, from the first, then each as the settlement process publishes it.

The position manager of a cluster process (risk, gateways) needs them all: a fill its
replicas replay is pending until its outcome, which may be older than the process. An
ordered push consumer (ephemeral; re-made from the next message by nats-py when its
heartbeats stop) reads ``PERPDEX_OUT`` from its first message; an outcome that does not
decode is logged and skipped (it names no fill this process could act on).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Final

import msgspec
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.outcomes import decode_outcome
from perpdex.cluster.streams import StreamLayout, ensure_stream
from perpdex.cluster.transport import UNAVAILABLE, unavailable_on_failure, until_available
from perpdex.core.eip712 import Eip712Domain
from perpdex.settlement.outcomes import FillOutcome

log = logging.getLogger(__name__)

_HEARTBEAT_S: Final = 1.0
_API_TIMEOUT_S: Final = 2.0
_POLL_S: Final = 0.02


class OutcomeFollower:
    def __init__(
        self,
        nc: Client,
        layout: StreamLayout,
        domain: Eip712Domain,
        on_outcome: Callable[[FillOutcome], None],
    ) -> None:
        self._js = nc.jetstream(timeout=_API_TIMEOUT_S)
        self._layout = layout
        self._domain = domain
        self._on_outcome = on_outcome
        self._subscription: object | None = None
        self.last_message = 0
        """The stream sequence of the last outcome handled."""

    async def start(self, timeout_s: float = 15.0) -> None:
        """Subscribe from the first outcome (retrying while JetStream elects a leader, up
        to ``timeout_s``: a process started while a NATS node is down waits for the
        election instead of exiting)."""
        await until_available(self._subscribe, timeout_s)

    async def _subscribe(self) -> None:
        layout = self._layout
        async with unavailable_on_failure(f"follow {layout.outcome_stream}"):
            await ensure_stream(self._js, layout.outcome_config())
            self._subscription = await self._js.subscribe(
                f"{layout.prefix}.out.*",
                stream=layout.outcome_stream,
                cb=self._on_message,
                ordered_consumer=True,
                idle_heartbeat=_HEARTBEAT_S,
                deliver_policy=DeliverPolicy.ALL,
            )

    async def caught_up(self, timeout_s: float = 60.0) -> None:
        """Wait until every outcome the stream held when called was handled (its tail read
        again while that times out, as :meth:`JournalFollower.caught_up` does)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        last = await until_available(self._last_message, timeout_s)
        while self.last_message < last:
            if asyncio.get_running_loop().time() > deadline:
                raise JetStreamUnavailableError(
                    f"{self._layout.outcome_stream}: not caught up in {timeout_s} s"
                )
            await asyncio.sleep(_POLL_S)

    async def _last_message(self) -> int:
        async with unavailable_on_failure(f"the tail of {self._layout.outcome_stream}"):
            info = await self._js.stream_info(self._layout.outcome_stream)
        return int(info.state.last_seq)

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if isinstance(subscription, nats.js.JetStreamContext.PushSubscription):
            with suppress(*UNAVAILABLE, nats.js.errors.Error):
                await subscription.unsubscribe()

    async def _on_message(self, msg: Msg) -> None:
        message = msg.metadata.sequence.stream
        if message <= self.last_message:
            return  # handled already: a re-made consumer starts a little early
        self.last_message = message
        try:
            outcome = decode_outcome(msg.data, self._domain)
        except (msgspec.DecodeError, ValueError) as error:
            log.error("outcome %d of %s skipped: %s", message, self._layout.outcome_stream, error)
            return
        self._on_outcome(outcome)
