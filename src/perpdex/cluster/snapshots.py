"""Engine snapshots in a JetStream object store: ``<PREFIX>_SNAPSHOTS``, one object per shard.

An object holds ``perpdex.engine.snapshot``'s bytes (every book of the shard as of one
journal entry, named with its chain head), replaced by each newer snapshot. The store is
replicated like the streams, so an engine restarted on another machine finds it. A reader
trusts nothing in it: the journal must store the snapshot's head at its entry (``replay``
checks it), and a snapshot that does not fit is ignored.
"""

from __future__ import annotations

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.object_store import ObjectStore

from perpdex.cluster.streams import ShardId, StreamLayout


class SnapshotStore:
    def __init__(self, js: JetStreamContext, layout: StreamLayout) -> None:
        self._js = js
        self._layout = layout
        self._store: ObjectStore | None = None

    @property
    def bucket(self) -> str:
        return f"{self._layout.prefix.upper()}_SNAPSHOTS"

    async def put(self, shard: ShardId, snapshot: bytes) -> None:
        await (await self._opened()).put(_name(shard), snapshot)

    async def get(self, shard: ShardId) -> bytes | None:
        """The shard's last snapshot, None if it has none."""
        try:
            result = await (await self._opened()).get(_name(shard))
        except nats.js.errors.ObjectNotFoundError:
            return None
        return result.data

    async def _opened(self) -> ObjectStore:
        if self._store is None:
            config = ObjectStoreConfig(
                bucket=self.bucket, storage=StorageType.FILE, replicas=self._layout.replicas
            )
            self._store = await self._js.create_object_store(self.bucket, config=config)
        return self._store


def _name(shard: ShardId) -> str:
    return f"shard-{shard}"
