import dataclasses

import msgspec
import pytest

from perpdex.core.eip712 import FeePpm, Nonce, Order, UnixTime
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    Price,
    Size,
    TimeInForce,
    TriggerDirection,
)
from perpdex.gateway import protocol as wire
from perpdex.gateway.protocol import ErrorCode, ProtocolError, decode_frame

ORDER = Order(
    trader=Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
    market=MarketId(3),
    is_buy=False,
    size=Size(10**8),
    limit_price=Price(65_000 * 10**6),
    max_fee_ppm=FeePpm(500),
    margin_mode=MarginMode.ISOLATED,
    time_in_force=TimeInForce.POST_ONLY,
    reduce_only=True,
    expiry=UnixTime(2_000_000_000),
    nonce=Nonce(9),
)


STOP = dataclasses.replace(
    ORDER, trigger_price=Price(60_000 * 10**6), trigger_direction=TriggerDirection.AT_OR_BELOW
)


def test_a_wire_order_is_the_eip712_message_and_round_trips() -> None:
    from perpdex.core.eip712 import ChainId, Eip712Domain

    domain = Eip712Domain(ChainId(1), ORDER.trader)
    for order in (ORDER, STOP):
        message = domain.full_message(order)["message"]
        encoded = msgspec.json.encode(wire.WireOrder.of(order))
        # the wallet's message goes on the wire as is
        assert msgspec.json.decode(msgspec.json.encode(message), type=wire.WireOrder) == (
            wire.WireOrder.of(order)
        )
        assert msgspec.json.decode(encoded, type=wire.WireOrder).to_order() == order
    assert (
        msgspec.json.decode(msgspec.json.encode(wire.WireOrder.of(STOP)))
        == (domain.full_message(STOP)["message"])
    )
    # a plain order is sent without its zero trigger fields
    plain = msgspec.json.decode(msgspec.json.encode(wire.WireOrder.of(ORDER)))
    assert (
        plain | {"triggerPrice": 0, "triggerDirection": 0}
        == (domain.full_message(ORDER)["message"])
    )


@pytest.mark.parametrize(
    "trigger",
    [
        {"triggerDirection": 3, "triggerPrice": 1},
        {"triggerDirection": 1},
        {"triggerPrice": 5},
        {"triggerDirection": 2, "triggerPrice": 2**64},
    ],
    ids=repr,
)
def test_a_wire_order_with_a_bad_trigger_is_refused(trigger: dict[str, int]) -> None:
    message = msgspec.json.decode(msgspec.json.encode(wire.WireOrder.of(ORDER))) | trigger
    decoded = msgspec.json.decode(msgspec.json.encode(message), type=wire.WireOrder)
    with pytest.raises(ValueError, match="trigger"):
        decoded.to_order()


def test_single_and_batched_requests_decode() -> None:
    assert decode_frame(b'{"op":"cancel_all","id":4,"market":1}') == [
        wire.CancelAllRequest(id=4, market=1)
    ]
    batch = decode_frame(
        '[{"op":"schedule_cancel","timeoutMs":5},'
        '{"op":"unsubscribe","channel":"trades","market":0}]'
    )
    assert [type(r) for r in batch] == [wire.ScheduleCancelRequest, wire.UnsubscribeRequest]


@pytest.mark.parametrize(
    ("frame", "code", "request_id"),
    [
        (b"", ErrorCode.MALFORMED, None),
        (b"\xff\xfe", ErrorCode.MALFORMED, None),
        (b'{"op":"place","id":3}', ErrorCode.MALFORMED, 3),
        (b'{"op":"cancel_all","id":2,"extra":1}', ErrorCode.MALFORMED, 2),
        (b'{"op":"subscribe","channel":"gossip"}', ErrorCode.MALFORMED, None),
        (b"[" + b",".join([b'{"op":"cancel_all"}'] * 101) + b"]", ErrorCode.TOO_LARGE, None),
        (b"[[]]", ErrorCode.MALFORMED, None),
        (b"[]", ErrorCode.MALFORMED, None),
        (b" [ ] ", ErrorCode.MALFORMED, None),
    ],
)
def test_malformed_frames_raise_typed_errors(
    frame: bytes, code: ErrorCode, request_id: int | None
) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_frame(frame)
    assert (caught.value.code, caught.value.request_id) == (code, request_id)


def test_out_of_range_order_fields_are_value_errors() -> None:
    for field, value in (("marginMode", 2), ("timeInForce", 4), ("size", 0), ("nonce", 2**64)):
        fields = msgspec.to_builtins(wire.WireOrder.of(ORDER)) | {field: value}
        with pytest.raises(ValueError):
            msgspec.convert(fields, wire.WireOrder).to_order()


def test_server_frames_round_trip_and_omit_unset_members() -> None:
    error = wire.Error(code=ErrorCode.REJECTED, message="m", reason="bad_tick")
    expected = b'{"type":"error","code":"rejected","message":"m","reason":"bad_tick"}'
    assert wire.encode_frame(error) == expected
    assert wire.decode_server_frames(wire.encode_frame(error)) == [error]
    ack = wire.Ack(id=1, seq=2)
    together = b"[" + wire.encode_frame(error) + b"," + wire.encode_frame(ack) + b"]"
    assert wire.decode_server_frames(together) == [error, ack]


def test_a_fill_rejected_frame_is_typed_with_the_chain_reason() -> None:
    frame = wire.FillRejected(
        seq=9,
        market=0,
        order_hash="0x" + "ab" * 32,
        is_buy=False,
        maker=True,
        price=5,
        size=1,
        reason="ORDER_CLOSED",
    )
    data = wire.encode_frame(frame)
    assert data.startswith(b'{"type":"fill_rejected","seq":9,')
    assert b'"reason":"ORDER_CLOSED"' in data
    assert wire.decode_server_frames(data) == [frame]


def test_field_formats() -> None:
    assert wire.parse_order_hash("0x" + "ab" * 32) == bytes([0xAB]) * 32
    for bad in ("ab" * 32, "0x" + "ab" * 31, "0x" + "zz" * 32):
        with pytest.raises(ValueError):
            wire.parse_order_hash(bad)
    assert wire.parse_address("0x5fbdb2315678afecb367f032d93f642f64180aa3") == ORDER.trader
    with pytest.raises(ValueError):
        wire.parse_client_id("x" * 65)
