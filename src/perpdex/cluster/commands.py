"""Engine commands on the command stream: their wire form, their shards and message ids.

A gateway (or the risk process) publishes each command to ``<prefix>.cmd.<shard>`` of the
shard that owns it (:func:`routes`); the engine of that shard reads them in stream order
and sequences them (``perpdex.cluster.engine_process``).

Wire form: the journal's own encoding (``perpdex.engine.codec``) of the command without
its sequence number and time stamp (the engine assigns both). ``Tick`` never travels: the
engine ticks its own timers.

Order ids. Two gateways cannot both count order ids, so the engine assigns them: a
``NewOrder``'s ``order_id`` on the wire is ignored (send 0) and the engine replaces it with
the command's stream sequence, the ``stream_seq`` of the publisher's ``CommandAck``. The
command stream is one stream for every shard, so its sequence grows in every market as
``MatchingEngine.new_order`` requires, and a retried publish (acknowledged as a duplicate)
names the same sequence, hence the same order. ``Cancel`` and ``Amend`` name that id.

Positions. The engine shard has no position manager: a reduce-only ``NewOrder`` carries
the account's position in its market (the gateway stamps it from its own), and an
``IndexPrice`` carries, in ``positions``, every account's non-zero position in its market
(the risk process stamps it); the engine journals the ones it uses, so replay decides
alike.

Message ids (``Nats-Msg-Id``, de-duplicated by JetStream within ``command_dedup_s``): a
new order's order hash, so a retry never places twice; for any other command a keccak
digest of ``origin`` (who sent it and which request: unique per request and the same for
its retries, e.g. gateway id, session, request id), the shard and the wire bytes. Without
an ``origin`` two equal commands in the window (a cancel-all, an order, a cancel-all) would
be taken for one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from struct import pack
from typing import Final

from Crypto.Hash import keccak
from nats.js import JetStreamContext

from perpdex.cluster.streams import CommandAck, ShardId, StreamLayout, publish_to_shard
from perpdex.core.types import MarketId, OrderHash, OrderId
from perpdex.engine.codec import HEADER, DecodeError, decode, encode, renumbered
from perpdex.engine.commands import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    ChainCancel,
    Command,
    IndexPrice,
    NewOrder,
    SetDeadMan,
    Tick,
)

WireCommand = (
    NewOrder
    | Cancel
    | CancelByClientId
    | CancelAll
    | CancelAccount
    | Amend
    | SetDeadMan
    | ChainCancel
    | IndexPrice
)
"""A command a gateway or the risk process sends (every ``Command`` but ``Tick``)."""

_STAMP: Final = HEADER.size - 1  # seq u64 | time i64: the engine's, not on the wire
_NO_STAMP: Final = bytes(_STAMP)
_ACCOUNT_WIDE: Final = (CancelAccount, SetDeadMan)  # every shard holds some of the account


def encode_command(command: WireCommand) -> bytes:
    """``command`` as published (the journal entry's kind and fields)."""
    if isinstance(command, Tick):
        raise TypeError("a Tick is the engine's own, never published")
    return encode(0, 0, command)[_STAMP:]


def decode_command(data: bytes) -> WireCommand:
    """The command of ``encode_command``'s bytes; ``DecodeError`` for anything else."""
    return _wire(decode(_NO_STAMP + data)[2])


def with_order_id(command: WireCommand, stream_seq: int) -> WireCommand:
    """What the engine sequences for ``command`` read at ``stream_seq`` (see above)."""
    if type(command) is NewOrder:
        return replace(command, order_id=OrderId(stream_seq))
    return command


def decode_numbered(data: bytes, stream_seq: int) -> WireCommand:
    """``with_order_id(decode_command(data), stream_seq)``, the engine's way: the order id
    is written into the bytes before decoding (``dataclasses.replace`` costs more than the
    decoding)."""
    return _wire(decode(renumbered(_NO_STAMP + data, stream_seq))[2])


def _wire(command: Command) -> WireCommand:
    if isinstance(command, Tick):
        raise DecodeError("a Tick is not a published command")
    return command


@dataclass(frozen=True, slots=True)
class Routed:
    """One publish: ``command`` (for ``shard`` alone) under ``msg_id``."""

    shard: ShardId
    command: WireCommand
    data: bytes
    msg_id: bytes


def routes(
    command: WireCommand,
    layout: StreamLayout,
    *,
    order_hash: OrderHash | None = None,
    origin: bytes = b"",
) -> list[Routed]:
    """The publishes that carry ``command``: one for its market's shard; a ``CancelAccount``
    or ``SetDeadMan`` to every shard; a ``ChainCancel`` split by shard (the rejected fill
    with its market's orders). ``order_hash``: a ``NewOrder``'s (its message id)."""
    if type(command) is NewOrder and order_hash is None:
        raise ValueError("a new order is published under its order hash")
    return [
        Routed(shard, part, data, _message_id(part, shard, data, order_hash, origin))
        for shard, part in _split(command, layout)
        for data in (encode_command(part),)
    ]


async def publish(
    js: JetStreamContext,
    layout: StreamLayout,
    command: WireCommand,
    *,
    order_hash: OrderHash | None = None,
    origin: bytes = b"",
    timeout_s: float = 2.0,
) -> list[tuple[Routed, CommandAck]]:
    """Publish every part of ``command`` (``routes``), in shard order; returns once all are
    durable. ``JetStreamUnavailableError`` if one is not: retry the whole with the same
    ``origin`` (the parts already stored are acknowledged as duplicates)."""
    return [
        (
            part,
            await publish_to_shard(
                js, layout, part.shard, part.data, part.msg_id, timeout_s=timeout_s
            ),
        )
        for part in routes(command, layout, order_hash=order_hash, origin=origin)
    ]


def _split(command: WireCommand, layout: StreamLayout) -> list[tuple[ShardId, WireCommand]]:
    if isinstance(command, _ACCOUNT_WIDE):
        return [(shard, command) for shard in layout.all_shards]
    if isinstance(command, ChainCancel):
        return _split_chain_cancel(command, layout)
    return [(layout.shard_of(command.market), command)]


def _split_chain_cancel(
    command: ChainCancel, layout: StreamLayout
) -> list[tuple[ShardId, WireCommand]]:
    by_shard: defaultdict[ShardId, list[tuple[MarketId, OrderId]]] = defaultdict(list)
    for market, order_id in command.orders:
        by_shard[layout.shard_of(market)].append((market, order_id))
    rejected_shard = None
    if command.rejected is not None:
        rejected_shard = layout.shard_of(command.rejected.market)
        by_shard.setdefault(rejected_shard, [])
    return [
        (
            shard,
            replace(
                command,
                orders=tuple(by_shard[shard]),
                rejected=command.rejected if shard == rejected_shard else None,
            ),
        )
        for shard in sorted(by_shard)
    ]


def _message_id(
    command: WireCommand,
    shard: ShardId,
    data: bytes,
    order_hash: OrderHash | None,
    origin: bytes,
) -> bytes:
    if type(command) is NewOrder:
        assert order_hash is not None
        return bytes(order_hash)
    digest = keccak.new(digest_bits=256)
    digest.update(pack(">I", len(origin)) + origin + pack(">I", shard) + data)
    return digest.digest()
