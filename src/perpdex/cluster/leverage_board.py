"""The traders' leverage caps shared by every gateway of cluster mode.

A cap is not an engine command (the engine never reads it), so it is not in the journal;
in the embedded node it lives in the node's SQLite (``risk/leverage.py``). With two
gateways a cap set through one must bind on the other, or a bot that reconnects elsewhere
escapes it. So a gateway answers a ``setLeverage`` only once the cap is durable in a
JetStream key-value bucket (replicated as the streams are), and every gateway watches the
bucket into its own :class:`~perpdex.risk.leverage.LeverageStore`. The window: an order
through another gateway in the milliseconds before its watch delivers the change is
checked against the previous cap, as an order through the same gateway a moment earlier
would have been.

A gateway's own store (its ``--state-dir``) is a cache: at start the bucket's settings
replace its own, and one the bucket lacks (a put this gateway's crash cut off after the
store took it) is put again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal, InvalidOperation

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from perpdex.cluster.errors import JetStreamUnavailableError
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import START_TIMEOUT_S, unavailable_on_failure, until_available
from perpdex.core.types import Address, MarketId
from perpdex.gateway.protocol import ErrorCode, ProtocolError
from perpdex.risk.leverage import LeverageStore

log = logging.getLogger(__name__)


def bucket_name(prefix: str) -> str:
    return f"{prefix.upper()}_LEVERAGE"


def key_of(trader: Address, market: MarketId) -> str:
    """``<trader>.<market>``, the address as the position manager keys it (checksummed)."""
    return f"{trader}.{market}"


def setting_of(key: str, value: bytes) -> tuple[Address, MarketId, Decimal] | None:
    """The setting of a bucket entry; None for an entry no gateway writes."""
    trader, _, market = key.partition(".")
    try:
        return Address(trader), MarketId(int(market)), Decimal(value.decode())
    except (ValueError, InvalidOperation, UnicodeDecodeError):
        return None


class LeverageBoard:
    """The bucket, and a watch of it into ``store``."""

    def __init__(self, bucket: KeyValue, store: LeverageStore) -> None:
        self._bucket = bucket
        self.store = store
        self._watch: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, js: JetStreamContext, layout: StreamLayout, store: LeverageStore
    ) -> LeverageBoard:
        """The layout's bucket (created if missing), merged with ``store`` both ways;
        tried again while JetStream is unavailable (a process started during a NATS
        node's outage waits for the election instead of exiting: the merge is the same
        the second time)."""
        return await until_available(lambda: cls._open(js, layout, store), START_TIMEOUT_S)

    @classmethod
    async def _open(
        cls, js: JetStreamContext, layout: StreamLayout, store: LeverageStore
    ) -> LeverageBoard:
        async with unavailable_on_failure("leverage bucket"):
            bucket = await js.create_key_value(
                KeyValueConfig(
                    bucket=bucket_name(layout.prefix),
                    history=1,
                    storage=StorageType.FILE,
                    replicas=layout.replicas,
                )
            )
            board = cls(bucket, store)
            shared = await board._read_all()
        for trader, market, leverage in shared:
            store.set(trader, market, leverage)
        known = {(trader, market) for trader, market, _ in shared}
        for trader, market, leverage in store.settings():
            if (trader, market) not in known:
                await board.put(trader, market, leverage)
        return board

    async def put(self, trader: Address, market: MarketId, leverage: Decimal) -> None:
        """Durable in the bucket when it returns (JetStream's acknowledgement)."""
        async with unavailable_on_failure("leverage bucket"):
            await self._bucket.put(key_of(trader, market), str(leverage).encode())

    async def share(self, trader: Address, market: MarketId, leverage: Decimal) -> None:
        """The gateway's :data:`~perpdex.gateway.risk.ShareLeverage`: into the bucket,
        then into this gateway's store (the watch brings the same value again)."""
        try:
            await self.put(trader, market, leverage)
        except JetStreamUnavailableError as error:
            raise ProtocolError(
                ErrorCode.UNAVAILABLE, f"the leverage could not be made durable: {error}"
            ) from None
        self.store.set(trader, market, leverage)

    def start(self) -> None:
        self._watch = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None

    async def _read_all(self) -> list[tuple[Address, MarketId, Decimal]]:
        try:
            keys = await self._bucket.keys()
        except NoKeysError:
            return []
        found = []
        for key in keys:
            entry = await self._bucket.get(key)
            setting = None if entry.value is None else setting_of(key, entry.value)
            if setting is not None:
                found.append(setting)
        return found

    async def _follow(self) -> None:
        """Every change any gateway puts, into the store (this gateway's own too: the
        same value again). The watcher's client re-subscribes after a reconnect."""
        watcher = await self._bucket.watchall()
        async for entry in watcher:
            if entry is None or entry.value is None:
                continue  # the end of the initial values, or a delete no gateway makes
            setting = setting_of(entry.key, entry.value)
            if setting is None:
                log.warning("leverage bucket: entry %r is no setting", entry.key)
                continue
            self.store.set(*setting)
