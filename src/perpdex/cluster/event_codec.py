"""The engine's events (``perpdex.engine.events``) as msgpack, for the event streams.

Each event is one msgpack array, ``[tag, *fields]``: ``tag`` is the event type's place in
``EVENT_TYPES`` (append only: a stored stream is read by later versions), the fields are
the event's own in order, except that an order's terms (``Accepted.order``) and a refused
command (``Rejected.command``) are the journal's encoding (``perpdex.engine.codec``) as
bytes. A message body is a msgpack array of events (``encode_body``): each event is encoded
once, the body is their concatenation behind the array's header.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import fields
from struct import pack
from typing import Any, Final

import msgspec

from perpdex.engine.codec import decode, decode_order, encode, encode_order
from perpdex.engine.commands import Command, NewOrder
from perpdex.engine.events import (
    Accepted,
    Amended,
    BookDelta,
    Cancelled,
    DeadManSet,
    Event,
    Expired,
    Filled,
    FillRejected,
    Rejected,
    Triggered,
    Untriggered,
)

EVENT_TYPES: Final[tuple[type[Event], ...]] = (
    Accepted,
    Rejected,
    Filled,
    Cancelled,
    Expired,
    Amended,
    DeadManSet,
    FillRejected,
    Triggered,
    Untriggered,
    BookDelta,
)


def _encode_command(command: Command) -> bytes:
    return encode(0, 0, command)


def _decode_command(data: bytes) -> Command:
    return decode(data)[2]


Convert = Callable[[Any], Any]
# a field of one of these types travels as bytes: (to the wire, from the wire)
_AS_BYTES: Final[dict[object, tuple[Convert, Convert]]] = {
    NewOrder: (encode_order, decode_order),
    Command: (_encode_command, _decode_command),
}


class _Kind:
    """One event type: its wire struct and the fields that travel as bytes."""

    def __init__(self, tag: int, event: type[Event]) -> None:
        self.event = event
        hints = typing.get_type_hints(event)
        names = [field.name for field in fields(event)]
        self.names = names
        self.converted = [
            (i, *_AS_BYTES[hints[n]]) for i, n in enumerate(names) if hints[n] in _AS_BYTES
        ]
        self.wire: type[msgspec.Struct] = msgspec.defstruct(
            f"{event.__name__}Wire",
            [(name, bytes if hints[name] in _AS_BYTES else hints[name]) for name in names],
            tag=tag,
            array_like=True,
            frozen=True,
        )

    def to_wire(self, event: Event) -> msgspec.Struct:
        values = [getattr(event, name) for name in self.names]
        for index, to_wire, _ in self.converted:
            values[index] = to_wire(values[index])
        return self.wire(*values)

    def from_wire(self, wire: msgspec.Struct) -> Event:
        values = [getattr(wire, name) for name in self.names]
        for index, _, from_wire in self.converted:
            values[index] = from_wire(values[index])
        return self.event(*values)


_KINDS: Final = [_Kind(tag, event) for tag, event in enumerate(EVENT_TYPES)]
_BY_EVENT: Final = {kind.event: kind for kind in _KINDS}
_BY_WIRE: Final = {kind.wire: kind for kind in _KINDS}
_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final[msgspec.msgpack.Decoder[list[Any]]] = msgspec.msgpack.Decoder(
    list[typing.Union[tuple(kind.wire for kind in _KINDS)]]  # type: ignore[misc]  # noqa: UP007
)


def encode_event(event: Event) -> bytes:
    """One event, as one msgpack array (an item of ``encode_body``)."""
    return _ENCODER.encode(_BY_EVENT[type(event)].to_wire(event))


def encode_body(encoded: Sequence[bytes]) -> bytes:
    """A message body: the msgpack array of the events ``encode_event`` gave."""
    return _array_header(len(encoded)) + b"".join(encoded)


def decode_body(body: bytes) -> list[Event]:
    """The events of a message body; ``msgspec.DecodeError`` if it is not one."""
    return [_BY_WIRE[type(wire)].from_wire(wire) for wire in _DECODER.decode(body)]


def _array_header(length: int) -> bytes:
    if length < 16:
        return bytes((0x90 | length,))
    if length < 1 << 16:
        return b"\xdc" + pack(">H", length)
    return b"\xdd" + pack(">I", length)
