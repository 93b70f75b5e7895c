"""What can go wrong writing to JetStream, as types a service can act on."""

from __future__ import annotations


class JetStreamUnavailableError(Exception):
    """JetStream could not take or confirm a write in time (no quorum, no server, no leader).

    Nothing acknowledged is lost and nothing is dropped: the write may be retried, and a
    gateway refuses new orders with ``unavailable`` meanwhile.
    """


class JournalUnavailableError(JetStreamUnavailableError):
    """Journal entries are not yet durable; they stay queued and the next flush retries."""


class JournalFencedError(Exception):
    """Another writer has appended to this shard's journal: this writer must stop.

    Raised to a stale engine (one whose replacement took over the shard) on its first
    write after the takeover; every later append or flush raises it again.
    """

    def __init__(self, shard: int, seq: int, detail: str) -> None:
        super().__init__(f"journal of shard {shard} fenced at entry {seq}: {detail}")
        self.shard = shard
        self.seq = seq
