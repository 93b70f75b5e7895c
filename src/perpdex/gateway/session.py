"""One client connection's state, and the outbox that releases frames to connections.

Frames about commands leave only after the commands are durable: the gateway queues them
here while it handles a turn of the event loop and releases them after the sequencer's
flush (``Gateway.release``): the frames of one release for one connection go as few
WebSocket messages (JSON arrays of frames) of at most ``max_message`` bytes each. Sends do
not wait for the client (``broadcast`` writes to the socket buffer); a connection whose
buffer grows past ``max_buffer`` is a slow consumer and is closed, so one stuck reader
cannot make the server hold unbounded memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from websockets.asyncio.connection import Connection, broadcast

from perpdex.core.types import Address, MarketId
from perpdex.gateway.limits import TokenBucket
from perpdex.gateway.protocol import Channel

SLOW_CONSUMER_CLOSE_CODE = 1008  # policy violation

Subscription = tuple[Channel, MarketId | None]


@dataclass(eq=False, slots=True)
class Session:
    connection: Connection
    bucket: TokenBucket
    trader: Address | None = None
    login_expiry_s: int = 0
    cancel_on_disconnect: bool = False
    subscriptions: set[Subscription] = field(default_factory=set)

    def logged_in(self, now_s: int) -> Address | None:
        return self.trader if self.login_expiry_s > now_s else None


Payload = bytes | Callable[[], bytes | list[bytes]]
"""An encoded frame, or a function making frames at release time (a book snapshot, the
events an account subscription resumes with)."""


class Outbox:
    def __init__(self, max_buffer: int, max_message: int) -> None:
        self._max_buffer = max_buffer
        self._max_message = max_message
        self._items: list[tuple[Iterable[Session], Payload]] = []
        self._closing: set[asyncio.Task[None]] = set()  # referenced until done

    def __bool__(self) -> bool:
        return bool(self._items)

    def put(self, sessions: Iterable[Session], payload: Payload) -> None:
        """``sessions`` is read at release time (pass a copy if it may change)."""
        self._items.append((sessions, payload))

    def release(self) -> None:
        items, self._items = self._items, []
        queued: dict[Session, list[bytes]] = {}
        for sessions, payload in items:
            data = payload() if callable(payload) else payload
            for session in sessions:
                if isinstance(data, list):
                    queued.setdefault(session, []).extend(data)
                else:
                    queued.setdefault(session, []).append(data)
        for session, frames in queued.items():
            connection = session.connection
            for message in pack_messages(frames, self._max_message):
                broadcast((connection,), message, text=True)
            transport = connection.transport
            if transport is not None and transport.get_write_buffer_size() > self._max_buffer:
                close = connection.close(SLOW_CONSUMER_CLOSE_CODE, "slow consumer")
                task = asyncio.ensure_future(close)
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)


def pack_messages(frames: list[bytes], max_message: int) -> Iterator[bytes]:
    """The frames in order, several to a JSON array while it stays within ``max_message``
    bytes: one WebSocket message (one write, one read on the client) instead of many."""
    group: list[bytes] = []
    size = 0
    for frame in frames:
        if group and size + len(frame) + 1 > max_message:
            yield _array(group)
            group, size = [], 0
        group.append(frame)
        size += len(frame) + 1
    yield _array(group)


def _array(frames: list[bytes]) -> bytes:
    return frames[0] if len(frames) == 1 else b"[" + b",".join(frames) + b"]"
