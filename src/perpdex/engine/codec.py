"""The journal's encoding of a sequenced command: compact, fixed-layout, big-endian.

An entry is ``seq u64 | time i64 | kind u8`` followed by the command's fields; variable
fields (account, client order id, payload) trail the fixed part, their lengths in it. A
trigger order is its own kind (``NEW_TRIGGER``: the plain order's fixed part, then trigger
price and direction), so a plain order's entry is as it always was. The
payload is opaque bytes (the signed order, as the gateway received it), so this encoding
does not depend on how orders are signed.
"""

from __future__ import annotations

from struct import Struct
from struct import error as StructError
from typing import Final

from perpdex.core.types import (
    Address,
    ClientOrderId,
    MarketId,
    OrderHash,
    OrderId,
    Price,
    Side,
    Size,
    TimeInForce,
    TriggerDirection,
)
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
    RejectedFill,
    SetDeadMan,
    StpMode,
    Tick,
)
from perpdex.engine.errors import CancelReason

HEADER: Final = Struct(">QqB")  # seq, time, kind
# market, order id, side, price, size, tif, stp, flags, expiry, position,
# then the lengths of account, client id, payload
_ORDER: Final = Struct(">IQbqqBBBqqBHI")
_NEW: Final = Struct(HEADER.format + _ORDER.format[1:])
_TRIGGER_FIELDS: Final = "qB"  # trigger price, trigger direction
_TRIGGER_ORDER: Final = Struct(_ORDER.format + _TRIGGER_FIELDS)
_NEW_TRIGGER: Final = Struct(_NEW.format + _TRIGGER_FIELDS)
_INDEX_PRICE: Final = Struct(">QqBIqH")  # market, price, number of stamped positions
_STAMPED_POSITION: Final = Struct(">qB")  # position, account length (the account follows)
_CANCEL: Final = Struct(">QqBIQ")  # market, order id
_BY_CLIENT_ID: Final = Struct(">QqBIBH")  # market, account length, client id length
_CANCEL_ALL: Final = Struct(">QqBIB")  # market, account length
_CANCEL_ACCOUNT: Final = Struct(">QqBB")  # account length
_AMEND: Final = Struct(">QqBIQqqI")  # market, order id, price, size, payload length
_DEAD_MAN: Final = Struct(">QqBqB")  # deadline, account length
_TICK: Final = HEADER
_CHAIN_CANCEL: Final = Struct(">QqBBHB")  # reason, number of orders, a rejected fill follows
_CHAIN_ORDER: Final = Struct(">IQ")  # market, order id
# market, price, size, taker side, maker hash, taker hash, lengths of maker account, taker
# account, cause
_REJECTED_FILL: Final = Struct(">Iqqb32s32sBBB")

NEW, CANCEL, CANCEL_BY_CLIENT_ID, CANCEL_ALL, CANCEL_ACCOUNT, AMEND, DEAD_MAN, TICK = range(8)
CHAIN_CANCEL = 8
INDEX_PRICE = 9
NEW_TRIGGER = 10

_REDUCE_ONLY = 1
_HAS_CLIENT_ID = 2

_TIFS: Final = tuple(TimeInForce)
_TIF_CODE: Final = {tif: code for code, tif in enumerate(_TIFS)}
_SIDES: Final = {1: Side.BUY, -1: Side.SELL}
_STPS: Final = tuple(StpMode)
_CANCEL_REASONS: Final = tuple(CancelReason)
_CANCEL_REASON_CODE: Final = {reason: code for code, reason in enumerate(_CANCEL_REASONS)}
_TRIGGERS: Final = tuple(TriggerDirection)


# what decoding bytes that this codec did not write can raise
_MALFORMED = (StructError, ValueError, IndexError, KeyError)


class DecodeError(ValueError):
    """The bytes are not an entry this codec wrote."""


def encode(seq: int, time: int, cmd: Command) -> bytes:
    if type(cmd) is NewOrder:
        if cmd.trigger is TriggerDirection.NONE and not cmd.trigger_price:
            return _encode_order(_NEW, (seq, time, NEW), cmd)
        return _encode_order(_NEW_TRIGGER, (seq, time, NEW_TRIGGER), cmd)
    if isinstance(cmd, Cancel):
        return _CANCEL.pack(seq, time, CANCEL, cmd.market, cmd.order_id)
    if isinstance(cmd, CancelByClientId):
        account = cmd.account.encode()
        client_id = cmd.client_id.encode()
        fixed = _BY_CLIENT_ID.pack(
            seq, time, CANCEL_BY_CLIENT_ID, cmd.market, len(account), len(client_id)
        )
        return fixed + account + client_id
    if isinstance(cmd, CancelAll):
        account = cmd.account.encode()
        return _CANCEL_ALL.pack(seq, time, CANCEL_ALL, cmd.market, len(account)) + account
    if isinstance(cmd, CancelAccount):
        account = cmd.account.encode()
        return _CANCEL_ACCOUNT.pack(seq, time, CANCEL_ACCOUNT, len(account)) + account
    if isinstance(cmd, Amend):
        fixed = _AMEND.pack(
            seq, time, AMEND, cmd.market, cmd.order_id, cmd.price, cmd.size, len(cmd.payload)
        )
        return fixed + cmd.payload
    if isinstance(cmd, SetDeadMan):
        account = cmd.account.encode()
        return _DEAD_MAN.pack(seq, time, DEAD_MAN, cmd.deadline, len(account)) + account
    if isinstance(cmd, Tick):
        return _TICK.pack(seq, time, TICK)
    if isinstance(cmd, ChainCancel):
        return _encode_chain_cancel(seq, time, cmd)
    if isinstance(cmd, IndexPrice):
        return _encode_index_price(seq, time, cmd)
    raise TypeError(f"not a command: {cmd!r}")


def encode_order(order: NewOrder) -> bytes:
    """An order's terms alone, trigger included (snapshots store orders this way)."""
    return _encode_order(_TRIGGER_ORDER, (), order)


def decode(entry: bytes) -> tuple[int, int, Command]:
    """``(seq, time, command)`` of an entry."""
    try:
        seq, time, kind = HEADER.unpack_from(entry)
        return seq, time, _decode_command(kind, entry)
    except _MALFORMED as error:
        raise DecodeError(str(error)) from error


def decode_order(data: bytes) -> NewOrder:
    try:
        order, end = _decode_order(_TRIGGER_ORDER, data, with_trigger=True)
    except _MALFORMED as error:
        raise DecodeError(str(error)) from error
    _check_end(data, end)
    return order


def seq_of(entry: bytes) -> int:
    seq: int = HEADER.unpack_from(entry)[0]
    return seq


_ORDER_ID: Final = Struct(">Q")
_ORDER_ID_AT: Final = HEADER.size + 4  # after the header and the market (``_ORDER``)


def renumbered(entry: bytes, order_id: int) -> bytes:
    """``entry`` with ``order_id`` as its order's id if it places an order (``NEW``,
    ``NEW_TRIGGER``), else unchanged: cheaper than decoding and replacing the field."""
    if entry[HEADER.size - 1] not in (NEW, NEW_TRIGGER):
        return entry
    end = _ORDER_ID_AT + _ORDER_ID.size
    return entry[:_ORDER_ID_AT] + _ORDER_ID.pack(order_id) + entry[end:]


def _encode_order(layout: Struct, header: tuple[int, ...], cmd: NewOrder) -> bytes:
    account = cmd.account.encode()
    flags = _REDUCE_ONLY if cmd.reduce_only else 0
    if cmd.client_id is None:
        client_id = b""
    else:
        client_id = cmd.client_id.encode()
        flags |= _HAS_CLIENT_ID
    payload = cmd.payload
    trigger = (cmd.trigger_price, cmd.trigger) if layout is not _NEW else ()
    fixed = layout.pack(
        *header,
        cmd.market,
        cmd.order_id,
        cmd.side,
        cmd.price,
        cmd.size,
        _TIF_CODE[cmd.tif],
        cmd.stp,
        flags,
        cmd.expiry,
        cmd.position,
        len(account),
        len(client_id),
        len(payload),
        *trigger,
    )
    if client_id or payload:
        return b"".join((fixed, account, client_id, payload))
    return fixed + account  # the usual case, one copy less


def _encode_chain_cancel(seq: int, time: int, cmd: ChainCancel) -> bytes:
    rejected = cmd.rejected
    parts = [
        _CHAIN_CANCEL.pack(
            seq,
            time,
            CHAIN_CANCEL,
            _CANCEL_REASON_CODE[cmd.reason],
            len(cmd.orders),
            rejected is not None,
        )
    ]
    parts += [_CHAIN_ORDER.pack(market, order_id) for market, order_id in cmd.orders]
    if rejected is not None:
        texts = [
            t.encode() for t in (rejected.maker_account, rejected.taker_account, rejected.cause)
        ]
        parts.append(
            _REJECTED_FILL.pack(
                rejected.market,
                rejected.price,
                rejected.size,
                rejected.taker_side,
                rejected.maker_hash,
                rejected.taker_hash,
                *map(len, texts),
            )
        )
        parts += texts
    return b"".join(parts)


def _decode_chain_cancel(entry: bytes) -> tuple[ChainCancel, int]:
    _, _, _, reason, count, has_rejected = _CHAIN_CANCEL.unpack_from(entry)
    at = _CHAIN_CANCEL.size
    orders = []
    for _ in range(count):
        market, order_id = _CHAIN_ORDER.unpack_from(entry, at)
        orders.append((MarketId(market), OrderId(order_id)))
        at += _CHAIN_ORDER.size
    rejected = None
    if has_rejected:
        fields = _REJECTED_FILL.unpack_from(entry, at)
        market, price, size, taker_side, maker_hash, taker_hash, *lengths = fields
        at += _REJECTED_FILL.size
        texts = []
        for length in lengths:
            text, at = _text(entry, at, length)
            texts.append(text)
        rejected = RejectedFill(
            market=MarketId(market),
            price=Price(price),
            size=Size(size),
            taker_side=_SIDES[taker_side],
            maker_account=Address(texts[0]),
            taker_account=Address(texts[1]),
            maker_hash=OrderHash(maker_hash),
            taker_hash=OrderHash(taker_hash),
            cause=texts[2],
        )
    command = ChainCancel(orders=tuple(orders), reason=_CANCEL_REASONS[reason], rejected=rejected)
    return command, at


def _encode_index_price(seq: int, time: int, cmd: IndexPrice) -> bytes:
    parts = [_INDEX_PRICE.pack(seq, time, INDEX_PRICE, cmd.market, cmd.price, len(cmd.positions))]
    for account, position in cmd.positions:
        text = account.encode()
        parts += (_STAMPED_POSITION.pack(position, len(text)), text)
    return b"".join(parts)


def _decode_index_price(entry: bytes) -> tuple[IndexPrice, int]:
    _, _, _, market, price, count = _INDEX_PRICE.unpack_from(entry)
    at = _INDEX_PRICE.size
    positions = []
    for _ in range(count):
        position, length = _STAMPED_POSITION.unpack_from(entry, at)
        account, at = _text(entry, at + _STAMPED_POSITION.size, length)
        positions.append((Address(account), position))
    command = IndexPrice(market=MarketId(market), price=Price(price), positions=tuple(positions))
    return command, at


def _decode_order(
    layout: Struct, data: bytes, *, with_trigger: bool = False
) -> tuple[NewOrder, int]:
    fields = layout.unpack_from(data)
    if with_trigger:
        trigger_price, trigger = fields[-2:]
        fields = fields[:-2]
    else:
        trigger_price, trigger = 0, TriggerDirection.NONE
    (market, order_id, side, price, size, tif, stp, flags, expiry, position,
     account_len, client_id_len, payload_len) = fields[-13:]  # fmt: skip
    at = layout.size
    account = data[at : at + account_len].decode()
    at += account_len
    client_id = data[at : at + client_id_len].decode()
    at += client_id_len
    payload = data[at : at + payload_len]
    if len(payload) != payload_len:
        raise ValueError("payload cut short")
    order = NewOrder(
        market=MarketId(market),
        order_id=OrderId(order_id),
        account=Address(account),
        side=_SIDES[side],
        price=Price(price),
        size=Size(size),
        tif=_TIFS[tif],
        client_id=ClientOrderId(client_id) if flags & _HAS_CLIENT_ID else None,
        reduce_only=bool(flags & _REDUCE_ONLY),
        expiry=expiry,
        stp=_STPS[stp],
        payload=payload,
        position=position,
        trigger_price=Price(trigger_price),
        trigger=_TRIGGERS[trigger],
    )
    return order, at + payload_len


def _decode_command(kind: int, entry: bytes) -> Command:
    cmd: Command
    if kind == NEW:
        cmd, end = _decode_order(_NEW, entry)
    elif kind == NEW_TRIGGER:
        cmd, end = _decode_order(_NEW_TRIGGER, entry, with_trigger=True)
    elif kind == CANCEL:
        _, _, _, market, order_id = _CANCEL.unpack_from(entry)
        cmd, end = Cancel(MarketId(market), OrderId(order_id)), _CANCEL.size
    elif kind == CANCEL_BY_CLIENT_ID:
        _, _, _, market, account_len, client_id_len = _BY_CLIENT_ID.unpack_from(entry)
        account, at = _text(entry, _BY_CLIENT_ID.size, account_len)
        client_id, end = _text(entry, at, client_id_len)
        cmd = CancelByClientId(MarketId(market), Address(account), ClientOrderId(client_id))
    elif kind == CANCEL_ALL:
        _, _, _, market, account_len = _CANCEL_ALL.unpack_from(entry)
        account, end = _text(entry, _CANCEL_ALL.size, account_len)
        cmd = CancelAll(MarketId(market), Address(account))
    elif kind == CANCEL_ACCOUNT:
        account, end = _text(entry, _CANCEL_ACCOUNT.size, _CANCEL_ACCOUNT.unpack_from(entry)[3])
        cmd = CancelAccount(Address(account))
    elif kind == AMEND:
        _, _, _, market, order_id, price, size, payload_len = _AMEND.unpack_from(entry)
        end = _AMEND.size + payload_len
        cmd = Amend(
            market=MarketId(market),
            order_id=OrderId(order_id),
            price=Price(price),
            size=Size(size),
            payload=entry[_AMEND.size : end],
        )
    elif kind == DEAD_MAN:
        _, _, _, deadline, account_len = _DEAD_MAN.unpack_from(entry)
        account, end = _text(entry, _DEAD_MAN.size, account_len)
        cmd = SetDeadMan(Address(account), deadline)
    elif kind == TICK:
        cmd, end = Tick(), _TICK.size
    elif kind == CHAIN_CANCEL:
        cmd, end = _decode_chain_cancel(entry)
    elif kind == INDEX_PRICE:
        cmd, end = _decode_index_price(entry)
    else:
        raise ValueError(f"unknown command kind {kind}")
    _check_end(entry, end)
    return cmd


def _text(data: bytes, at: int, length: int) -> tuple[str, int]:
    end = at + length
    if end > len(data):
        raise ValueError("text cut short")
    return data[at:end].decode(), end


def _check_end(data: bytes, end: int) -> None:
    if end != len(data):
        raise DecodeError(f"entry is {len(data)} bytes, its fields end at {end}")
