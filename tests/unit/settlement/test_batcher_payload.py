"""The batcher's pure parts: engine payloads of signed orders, engine fills as matches, and
decoding the contract's ``MarginCheckFailed`` revert."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_abi.abi import encode

from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    sign_order,
    verify_order,
)
from perpdex.core.signing import InvalidSignatureError, Signature, SigningKey, keccak256
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    OrderId,
    Price,
    Side,
    Size,
    TimeInForce,
    TriggerDirection,
)
from perpdex.engine.events import Filled
from perpdex.settlement import payload as payload_module
from perpdex.settlement.batcher import MARGIN_CHECK_FAILED, margin_failure_account
from perpdex.settlement.encoding import Match
from perpdex.settlement.payload import (
    match_from_fill,
    order_from_payload,
    order_hash_of_payload,
    order_payload,
    verified_payload,
)

DOMAIN = Eip712Domain(ChainId(31337), Address("0x000000000000000000000000000000000000dEaD"))
MAKER, TAKER = (SigningKey(keccak256(name.encode())) for name in ("maker", "taker"))


def signed(key: SigningKey, *, is_buy: bool, **terms: object) -> SignedOrder:
    order = Order(
        trader=key.address,
        market=MarketId(3),
        is_buy=is_buy,
        size=Size(12_345),
        limit_price=Price(10**11 + 7),
        max_fee_ppm=FeePpm(500),
        margin_mode=MarginMode.ISOLATED,
        time_in_force=TimeInForce.POST_ONLY,
        reduce_only=True,
        expiry=UnixTime(2**40),
        nonce=Nonce(2**63 + 1),
    )
    return sign_order(replace(order, **terms), key, DOMAIN)


STOP = {"trigger_price": Price(2**64 - 1), "trigger_direction": TriggerDirection.AT_OR_BELOW}


@pytest.mark.parametrize(
    ("terms", "length"),
    [
        ({}, 128),
        (
            {
                "margin_mode": MarginMode.CROSS,
                "time_in_force": TimeInForce.IOC,
                "reduce_only": False,
            },
            128,
        ),
        (STOP, 160),
        ({"trigger_price": Price(1), "trigger_direction": TriggerDirection.AT_OR_ABOVE}, 160),
    ],
)
def test_a_payload_reads_back_as_the_same_signed_order(
    terms: dict[str, object], length: int
) -> None:
    order = signed(MAKER, is_buy=False, **terms)
    assert len(order_payload(order)) == length
    assert order_from_payload(order_payload(order), DOMAIN) == order


def test_a_trigger_payload_without_its_trigger_price_is_refused() -> None:
    payload = order_payload(signed(MAKER, is_buy=False, **STOP))
    with pytest.raises(ValueError, match="trigger_price"):
        order_from_payload(payload[:128], DOMAIN)


def test_a_payload_with_a_changed_trigger_price_fails_its_signature_check() -> None:
    payload = bytearray(order_payload(signed(MAKER, is_buy=False, **STOP)))
    payload[-1] ^= 1
    with pytest.raises(InvalidSignatureError):
        order_from_payload(bytes(payload), DOMAIN)


def test_a_payload_with_a_changed_term_fails_its_signature_check() -> None:
    payload = bytearray(order_payload(signed(MAKER, is_buy=False)))
    payload[63] ^= 1  # the lowest bit of the size
    with pytest.raises(InvalidSignatureError):
        order_from_payload(bytes(payload), DOMAIN)


def test_a_payload_of_the_wrong_length_is_refused() -> None:
    for length in (127, 129, 192):
        with pytest.raises(ValueError, match="128 or 160 bytes"):
            order_from_payload(b"\x00" * length, DOMAIN)


def counting_recoveries(monkeypatch: pytest.MonkeyPatch) -> list[Order]:
    recovered: list[Order] = []

    def counted(order: Order, signature: Signature, domain: Eip712Domain) -> SignedOrder:
        recovered.append(order)
        return verify_order(order, signature, domain)

    monkeypatch.setattr(payload_module, "verify_order", counted)
    return recovered


def test_a_payload_is_verified_once_and_a_bad_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recovered = counting_recoveries(monkeypatch)
    order = signed(MAKER, is_buy=False, nonce=Nonce(77))
    good = order_payload(order)
    bad = bytearray(good)
    bad[63] ^= 1
    for _ in range(3):
        assert order_from_payload(good, DOMAIN) == order
        with pytest.raises(InvalidSignatureError):
            order_from_payload(bytes(bad), DOMAIN)
    other = replace(DOMAIN, chain_id=ChainId(1))  # another domain's check is its own
    with pytest.raises(InvalidSignatureError):
        order_from_payload(good, other)
    assert len(recovered) == 1 + 3 + 1


def test_an_order_a_worker_verified_is_not_recovered_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recovered = counting_recoveries(monkeypatch)
    order = signed(TAKER, is_buy=True, nonce=Nonce(78))
    assert verified_payload(order, DOMAIN) == order_payload(order)
    assert order_from_payload(order_payload(order), DOMAIN) == order
    assert order_hash_of_payload(order_payload(order), DOMAIN) == order.order_hash
    assert recovered == []
    other = replace(DOMAIN, chain_id=ChainId(1))  # kept for its own domain only
    with pytest.raises(InvalidSignatureError):
        order_from_payload(order_payload(order), other)


def test_the_least_recently_read_are_dropped_beyond_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(payload_module, "VERIFIED_KEPT", 2)
    monkeypatch.setattr(payload_module, "_verified", payload_module._Verified())
    recovered = counting_recoveries(monkeypatch)
    first, second, third = (signed(MAKER, is_buy=False, nonce=Nonce(n)) for n in (80, 81, 82))
    for order in (first, second, first, third):  # first read again: second is the oldest
        order_from_payload(order_payload(order), DOMAIN)
    order_from_payload(order_payload(first), DOMAIN)
    order_from_payload(order_payload(second), DOMAIN)
    assert recovered == [o.order for o in (first, second, third, second)]


def test_an_engine_fill_becomes_the_match_of_its_two_signed_orders() -> None:
    maker, taker = signed(MAKER, is_buy=False), signed(TAKER, is_buy=True)
    fill = Filled(
        seq=9,
        market=MarketId(3),
        taker_order_id=OrderId(2),
        maker_order_id=OrderId(1),
        taker_account=TAKER.address,
        maker_account=MAKER.address,
        taker_side=Side.BUY,
        price=10**11,
        size=100,
        taker_payload=order_payload(taker),
        maker_payload=order_payload(maker),
    )
    assert match_from_fill(fill, DOMAIN) == Match(maker, taker, Price(10**11), Size(100))


def test_the_margin_revert_names_its_account() -> None:
    data = MARGIN_CHECK_FAILED + encode(["address"], [TAKER.address])
    assert margin_failure_account("0x" + data.hex()) == TAKER.address


@pytest.mark.parametrize(
    "data",
    [None, "0x", "0x08c379a0" + "00" * 32, {"message": "x"}],
)
def test_any_other_revert_is_not_a_margin_failure(data: object) -> None:
    assert margin_failure_account(data) is None
