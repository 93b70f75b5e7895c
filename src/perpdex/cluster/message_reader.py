"""Reading a stream's messages in order from any sequence, with nothing left behind on the
server: an ephemeral pull consumer, made again wherever a read resumes.

The journal's reads (``JetStreamJournal.read``) and the cluster reader's ``/journal`` pages
use it.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Final

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.transport import UNAVAILABLE

API_TIMEOUT_S: Final = 2.0


class MessageReader:
    """An ephemeral consumer of a stream, made again wherever a read resumes.

    It lives on one server (R1, in memory): when that node dies, the next fetch fails and
    the read makes a new one from the next message.
    """

    def __init__(self, js: JetStreamContext, stream: str, subject: str) -> None:
        self._js = js
        self._stream = stream
        self._subject = subject
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._next = 0

    async def fetch(self, message: int, count: int) -> list[tuple[int, bytes]]:
        """Up to ``count`` messages from stream sequence ``message`` on."""
        if self._subscription is None or self._next != message:
            await self.close()
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=message,
                ack_policy=AckPolicy.NONE,
                mem_storage=True,
                num_replicas=1,
                inactive_threshold=30.0,  # the server removes it if a read is abandoned
            )
            self._subscription = await self._js.pull_subscribe(
                self._subject, stream=self._stream, config=config
            )
            self._next = message
        try:
            msgs = await self._subscription.fetch(count, timeout=API_TIMEOUT_S)
        except BaseException:
            await self.close()
            raise
        batch = [(msg.metadata.sequence.stream, msg.data) for msg in msgs]
        if not batch:
            raise JetStreamUnavailableError(f"{self._stream}: message {message} not delivered")
        self._next = batch[-1][0] + 1
        return batch

    async def close(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            # the consumer may be gone with its node; it expires on its own anyway
            with suppress(*UNAVAILABLE, nats.js.errors.Error):
                await subscription.unsubscribe()
