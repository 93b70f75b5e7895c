"""Who runs where, and how far behind: a JetStream key-value bucket of status records.

Two writers, two keys per service, so neither overwrites the other:

- ``proc.<name>``: the supervisor that started the process (role, shard, pid, state,
  restarts), written at every change and refreshed while it runs;
- ``svc.<name>``: the service itself, about once a second (pid, host, lag: what it has
  still to apply of the streams it follows, and the sequence it has reached).

Records expire after ``STATUS_TTL_S``: a service that stopped reporting (dead, or cut off
from NATS) disappears instead of showing a lag frozen at its last good value. Any machine
with ``--nats URL`` reads the same board, so ``perpdex cluster status`` works beside
services started by hand on other machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Final

import msgspec
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import (
    START_TIMEOUT_S,
    UNAVAILABLE,
    unavailable_on_failure,
    until_available,
)

STATUS_TTL_S: Final = 15.0
REPORT_INTERVAL_S: Final = 1.0


class ProcessRecord(msgspec.Struct, frozen=True):
    """What the supervisor knows of a process it runs."""

    name: str
    role: str
    shard: int | None
    pid: int | None
    state: str
    restarts: int
    updated_ms: int


class ServiceRecord(msgspec.Struct, frozen=True):
    """What a running service says of itself."""

    name: str
    role: str
    shard: int | None
    pid: int
    host: str
    lag: int
    """Messages of the streams it follows not yet applied (commands for an engine, journal
    entries for a replica, events for a consumer)."""
    seq: int
    """The last sequence it applied (its meaning is the role's: see ``lag``)."""
    updated_ms: int


class ServiceView(msgspec.Struct, frozen=True):
    """One line of ``perpdex cluster status``: the two records merged."""

    name: str
    role: str
    shard: int | None
    pid: int | None
    host: str | None
    state: str
    restarts: int | None
    lag: int | None
    seq: int | None
    reported_ms_ago: int | None


def bucket_name(prefix: str) -> str:
    """The board of the layout with subject prefix ``prefix``."""
    return f"{prefix.upper()}_STATUS"


async def status_bucket(js: JetStreamContext, layout: StreamLayout) -> KeyValue:
    """The status bucket, created if missing (idempotent); tried again while JetStream is
    unavailable, as a start waits for a stream leader's election."""
    config = KeyValueConfig(
        bucket=bucket_name(layout.prefix),
        history=1,
        ttl=STATUS_TTL_S,
        storage=StorageType.MEMORY,  # a status older than a restart of NATS is no status
        replicas=layout.replicas,
    )

    async def create() -> KeyValue:
        async with unavailable_on_failure("status bucket"):
            return await js.create_key_value(config)

    return await until_available(create, START_TIMEOUT_S)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def put_process(bucket: KeyValue, record: ProcessRecord) -> None:
    await bucket.put(f"proc.{record.name}", msgspec.json.encode(record))


async def put_service(bucket: KeyValue, record: ServiceRecord) -> None:
    await bucket.put(f"svc.{record.name}", msgspec.json.encode(record))


async def read_board(bucket: KeyValue) -> list[ServiceView]:
    """Every service known to the board, by name, its two records merged."""
    try:
        keys = await bucket.keys()
    except NoKeysError:
        return []
    processes: dict[str, ProcessRecord] = {}
    services: dict[str, ServiceRecord] = {}
    for key in keys:
        entry = await bucket.get(key)
        if entry.value is None:
            continue
        if key.startswith("proc."):
            process = msgspec.json.decode(entry.value, type=ProcessRecord)
            processes[process.name] = process
        elif key.startswith("svc."):
            service = msgspec.json.decode(entry.value, type=ServiceRecord)
            services[service.name] = service
    now = now_ms()
    return [
        _merged(name, processes.get(name), services.get(name), now)
        for name in sorted(processes.keys() | services.keys())
    ]


def _merged(
    name: str, process: ProcessRecord | None, service: ServiceRecord | None, now: int
) -> ServiceView:
    first = process or service
    assert first is not None, "a name comes from one of the records"
    if process is not None and service is not None and service.pid != process.pid:
        # the supervisor restarted it: the record is its predecessor's, kept until it
        # expires, and would show a dead pid and a lag that is no one's
        service = None
    return ServiceView(
        name=name,
        role=first.role,
        shard=first.shard,
        pid=service.pid if service else process.pid if process else None,
        host=service.host if service else None,
        # no supervisor: started by hand, and alive since it reports
        state=process.state if process else "running",
        restarts=process.restarts if process else None,
        lag=service.lag if service else None,
        seq=service.seq if service else None,
        reported_ms_ago=now - service.updated_ms if service else None,
    )


class StatusReporter:
    """A service's own record, put about once a second until it stops.

    ``progress`` returns ``(seq, lag)``; it runs on the service's loop, so it must be cheap
    (read counters, never wait)."""

    def __init__(
        self,
        bucket: KeyValue,
        name: str,
        role: str,
        shard: int | None,
        progress: Callable[[], tuple[int, int]],
        *,
        interval_s: float = REPORT_INTERVAL_S,
    ) -> None:
        self._bucket = bucket
        self._name = name
        self._role = role
        self._shard = shard
        self._progress = progress
        self._interval_s = interval_s
        self._host = socket.gethostname()

    async def run(self) -> None:
        while True:
            seq, lag = self._progress()
            record = ServiceRecord(
                name=self._name,
                role=self._role,
                shard=self._shard,
                pid=os.getpid(),
                host=self._host,
                lag=lag,
                seq=seq,
                updated_ms=now_ms(),
            )
            # NATS away: the record expires, which is what the board should show
            with contextlib.suppress(*UNAVAILABLE):
                await put_service(self._bucket, record)
            await asyncio.sleep(self._interval_s)
