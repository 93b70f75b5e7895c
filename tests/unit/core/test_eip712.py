"""EIP-712 types: derived strings, eth-account equality, validation, tampering, rejection."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data, hash_domain
from eth_keys.constants import SECPK1_N
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from perpdex.core.eip712 import (
    MARGIN_MODE_CODES,
    ORDER_TYPE,
    TIME_IN_FORCE_CODES,
    Cancel,
    ChainId,
    Eip712Domain,
    FeePpm,
    InvalidCancelError,
    InvalidDomainError,
    InvalidOrderError,
    Nonce,
    Order,
    SignedCancel,
    SignedOrder,
    UnixTime,
    recover_signer,
    side_of,
    sign_cancel,
    sign_order,
    time_in_force_code,
    typehash,
    verify_cancel,
    verify_order,
)
from perpdex.core.eip712.schema import Eip712Struct, Field, StructType
from perpdex.core.signing import InvalidSignatureError, Signature, SigningKey, keccak256
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    OrderHash,
    Price,
    Side,
    Size,
    TimeInForce,
    TriggerDirection,
)

# The settlement contract's type strings, as fixed in the spec.
ORDER_TYPE_STRING = (
    "Order(address trader,uint32 market,bool isBuy,uint64 size,uint64 limitPrice,"
    "uint32 maxFeePpm,uint8 marginMode,uint8 timeInForce,bool reduceOnly,uint64 expiry,"
    "uint64 nonce,uint64 triggerPrice,uint8 triggerDirection)"
)
CANCEL_TYPE_STRING = "Cancel(address trader,bytes32 orderHash,uint64 expiry)"
DOMAIN_TYPE_STRING = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

KEY = SigningKey(b"\x42" * 32)
OTHER_KEY = SigningKey(b"\x43" * 32)
DOMAIN = Eip712Domain(ChainId(31337), Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"))


def uints(bits: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=2**bits - 1)


keys = st.integers(min_value=1, max_value=SECPK1_N - 1).map(lambda k: SigningKey(k.to_bytes(32)))
addresses = st.binary(min_size=20, max_size=20).map(lambda b: Address(to_checksum_address(b)))
domains = st.builds(Eip712Domain, chain_id=uints(256).map(ChainId), verifying_contract=addresses)


def order_for(**overrides: Any) -> Order:
    fields: dict[str, Any] = {
        "trader": KEY.address,
        "market": MarketId(1),
        "is_buy": True,
        "size": Size(150_000_000),
        "limit_price": Price(65_000_000_000),
        "max_fee_ppm": FeePpm(500),
        "margin_mode": MarginMode.CROSS,
        "time_in_force": TimeInForce.GTC,
        "reduce_only": False,
        "expiry": UnixTime(1_900_000_000),
        "nonce": Nonce(1),
    }
    return Order(**(fields | overrides))


def orders(trader: Address) -> st.SearchStrategy[Order]:
    return st.builds(
        Order,
        trader=st.just(trader),
        market=uints(32).map(MarketId),
        is_buy=st.booleans(),
        size=st.integers(min_value=1, max_value=2**64 - 1).map(Size),
        limit_price=st.integers(min_value=1, max_value=2**64 - 1).map(Price),
        max_fee_ppm=uints(32).map(FeePpm),
        margin_mode=st.sampled_from(MarginMode),
        time_in_force=st.sampled_from(TimeInForce),
        reduce_only=st.booleans(),
        expiry=uints(64).map(UnixTime),
        nonce=uints(64).map(Nonce),
    ).flatmap(with_trigger)


def with_trigger(order: Order) -> st.SearchStrategy[Order]:
    """``order`` as it is (a plain order) or with a trigger of either direction."""
    triggered = st.builds(
        dataclasses.replace,
        st.just(order),
        trigger_price=st.integers(min_value=1, max_value=2**64 - 1).map(Price),
        trigger_direction=st.sampled_from(
            [TriggerDirection.AT_OR_ABOVE, TriggerDirection.AT_OR_BELOW]
        ),
    )
    return st.just(order) | triggered


def cancels(trader: Address) -> st.SearchStrategy[Cancel]:
    return st.builds(
        Cancel,
        trader=st.just(trader),
        order_hash=st.binary(min_size=32, max_size=32).map(OrderHash),
        expiry=uints(64).map(UnixTime),
    )


Signer = Callable[[Any, SigningKey, Eip712Domain], SignedOrder | SignedCancel]
Verifier = Callable[[Any, Signature, Eip712Domain], SignedOrder | SignedCancel]
KINDS: list[tuple[Callable[[Address], st.SearchStrategy[Any]], Signer, Verifier]] = [
    (orders, sign_order, verify_order),
    (cancels, sign_cancel, verify_cancel),
]


@st.composite
def signing_cases(
    draw: st.DrawFn,
) -> tuple[SigningKey, Eip712Struct, Signer, Verifier, Eip712Domain]:
    key = draw(keys)
    messages, sign, verify = draw(st.sampled_from(KINDS))
    return key, draw(messages(key.address)), sign, verify, draw(domains)


def test_type_strings_and_typehashes_match_the_contract_spec() -> None:
    assert ORDER_TYPE.type_string == ORDER_TYPE_STRING
    assert Cancel.EIP712_TYPE.type_string == CANCEL_TYPE_STRING
    assert Eip712Domain.EIP712_TYPE.type_string == DOMAIN_TYPE_STRING
    assert typehash("Order") == keccak256(ORDER_TYPE_STRING.encode())
    assert typehash("Cancel") == keccak256(CANCEL_TYPE_STRING.encode())
    assert typehash("EIP712Domain") == keccak256(DOMAIN_TYPE_STRING.encode())


def test_enum_codes_match_the_contract_spec() -> None:
    assert [int(mode) for mode in MARGIN_MODE_CODES] == [0, 1]
    assert [time_in_force_code(tif) for tif in TIME_IN_FORCE_CODES] == [0, 1, 2, 3]
    assert TIME_IN_FORCE_CODES[3] is TimeInForce.POST_ONLY
    assert set(TIME_IN_FORCE_CODES) == set(TimeInForce)
    assert [int(direction) for direction in TriggerDirection] == [0, 1, 2]


def test_side_helpers() -> None:
    assert side_of(True) is Side.BUY
    assert side_of(False) is Side.SELL
    assert order_for(is_buy=False).side is Side.SELL
    assert all(side_of(side.is_buy) is side for side in Side)


@settings(max_examples=40, deadline=None)
@given(domain=domains)
def test_domain_separator_matches_eth_account(domain: Eip712Domain) -> None:
    assert domain.separator == hash_domain(domain.full_message(order_for())["domain"])


@settings(max_examples=80, deadline=None)
@given(case=signing_cases())
def test_digest_signature_and_recovery_match_eth_account(
    case: tuple[SigningKey, Eip712Struct, Signer, Verifier, Eip712Domain],
) -> None:
    key, message, sign, verify, domain = case
    full_message = domain.full_message(message)
    expected = Account.sign_typed_data(key.secret, full_message=full_message)
    digest = domain.digest(message)
    assert digest == _hash_eip191_message(encode_typed_data(full_message=full_message))
    assert digest == expected.message_hash

    signed = sign(message, key, domain)
    assert signed.signature.to_bytes() == expected.signature
    assert signed.signature == Signature(v=expected.v, r=expected.r, s=expected.s)

    verified = verify(message, signed.signature, domain)
    assert verified == signed
    assert verified.signer == key.address
    assert recover_signer(message, signed.signature, domain) == Account.recover_message(
        encode_typed_data(full_message=full_message), signature=expected.signature
    )


def test_signed_order_carries_its_hash() -> None:
    order = order_for()
    signed = sign_order(order, KEY, DOMAIN)
    assert signed.order_hash == DOMAIN.digest(order)
    assert signed.signer == order.trader
    cancel = Cancel(KEY.address, signed.order_hash, UnixTime(1))
    assert sign_cancel(cancel, KEY, DOMAIN).digest == DOMAIN.digest(cancel)


def _tampered(value: object, solidity_type: str) -> object:
    """A different value of the same Python type that still fits ``solidity_type``."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, MarginMode):
        return MarginMode(1 - value)
    if isinstance(value, TriggerDirection):
        return TriggerDirection(3 - value)  # the other direction of a trigger order
    if isinstance(value, TimeInForce):
        return TIME_IN_FORCE_CODES[(time_in_force_code(value) + 1) % len(TIME_IN_FORCE_CODES)]
    if solidity_type == "address":
        return OTHER_KEY.address
    assert isinstance(value, int)
    return value + 1


@pytest.mark.parametrize("field", ORDER_TYPE.fields, ids=lambda f: f.name)
def test_every_order_field_is_signed(field: Any) -> None:
    # a trigger order: a plain one cannot change its trigger fields alone and stay valid
    order = order_for(
        trigger_price=Price(60_000_000_000), trigger_direction=TriggerDirection.AT_OR_BELOW
    )
    signature = sign_order(order, KEY, DOMAIN).signature
    attribute = field.attribute
    tampered = dataclasses.replace(
        order, **{attribute: _tampered(getattr(order, attribute), field.solidity_type)}
    )
    assert tampered != order
    assert recover_signer(tampered, signature, DOMAIN) != KEY.address
    with pytest.raises(InvalidSignatureError, match="not by the trader"):
        verify_order(tampered, signature, DOMAIN)


@pytest.mark.parametrize(
    "other_domain",
    [
        dataclasses.replace(DOMAIN, chain_id=ChainId(1)),
        dataclasses.replace(DOMAIN, verifying_contract=OTHER_KEY.address),
        dataclasses.replace(DOMAIN, name="perpdeX"),
        dataclasses.replace(DOMAIN, version="2"),
    ],
)
def test_signature_is_bound_to_its_domain(other_domain: Eip712Domain) -> None:
    order = order_for()
    signature = sign_order(order, KEY, DOMAIN).signature
    with pytest.raises(InvalidSignatureError):
        verify_order(order, signature, other_domain)


def test_cancel_fields_are_signed() -> None:
    cancel = Cancel(KEY.address, OrderHash(b"\x01" * 32), UnixTime(10))
    signature = sign_cancel(cancel, KEY, DOMAIN).signature
    for tampered in (
        dataclasses.replace(cancel, order_hash=OrderHash(b"\x02" * 32)),
        dataclasses.replace(cancel, expiry=UnixTime(11)),
        dataclasses.replace(cancel, trader=OTHER_KEY.address),
    ):
        with pytest.raises(InvalidSignatureError):
            verify_cancel(tampered, signature, DOMAIN)


def test_a_key_cannot_sign_for_another_trader() -> None:
    with pytest.raises(InvalidSignatureError, match="cannot sign"):
        sign_order(order_for(), OTHER_KEY, DOMAIN)
    with pytest.raises(InvalidSignatureError, match="cannot sign"):
        sign_cancel(Cancel(KEY.address, OrderHash(bytes(32)), UnixTime(0)), OTHER_KEY, DOMAIN)


@pytest.mark.parametrize(
    "overrides",
    [
        {"trader": Address(KEY.address.lower())},
        {"trader": Address("0x1234")},
        {"market": MarketId(2**32)},
        {"market": MarketId(-1)},
        {"is_buy": 1},
        {"size": Size(0)},
        {"size": Size(-5)},
        {"size": Size(2**64)},
        {"limit_price": Price(0)},
        {"limit_price": Price(2**64)},
        {"max_fee_ppm": FeePpm(2**32)},
        {"margin_mode": 2},
        {"time_in_force": "GTC"},
        {"time_in_force": 0},
        {"reduce_only": None},
        {"expiry": UnixTime(2**64)},
        {"nonce": Nonce(-1)},
        {"nonce": True},
        {"trigger_price": Price(60_000_000_000)},
        {"trigger_direction": TriggerDirection.AT_OR_ABOVE},
        {"trigger_direction": 1},
        {"trigger_price": Price(-1), "trigger_direction": TriggerDirection.AT_OR_BELOW},
        {"trigger_price": Price(2**64), "trigger_direction": TriggerDirection.AT_OR_BELOW},
    ],
    ids=repr,
)
def test_invalid_orders_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidOrderError, match=next(iter(overrides))):
        order_for(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"order_hash": OrderHash(bytes(31))},
        {"order_hash": "00" * 32},
        {"expiry": UnixTime(-1)},
        {"trader": Address(KEY.address.upper())},
    ],
    ids=repr,
)
def test_invalid_cancels_are_refused(overrides: dict[str, Any]) -> None:
    fields = {"trader": KEY.address, "order_hash": OrderHash(bytes(32)), "expiry": UnixTime(0)}
    with pytest.raises(InvalidCancelError, match=next(iter(overrides))):
        Cancel(**(fields | overrides))


def test_invalid_domains_are_refused() -> None:
    with pytest.raises(InvalidDomainError, match="verifying_contract"):
        Eip712Domain(ChainId(1), Address(DOMAIN.verifying_contract.lower()))
    with pytest.raises(InvalidDomainError, match="chain_id"):
        Eip712Domain(ChainId(2**256), DOMAIN.verifying_contract)


@pytest.mark.parametrize("solidity_type", ["uint7", "uint264", "uint0", "int64", "bytes", "Order"])
def test_unsupported_field_types_fail_at_definition(solidity_type: str) -> None:
    with pytest.raises(TypeError):
        StructType("Bad", (Field("x", solidity_type),))


def test_field_attributes_are_snake_case() -> None:
    assert [f.attribute for f in ORDER_TYPE.fields] == [
        "trader",
        "market",
        "is_buy",
        "size",
        "limit_price",
        "max_fee_ppm",
        "margin_mode",
        "time_in_force",
        "reduce_only",
        "expiry",
        "nonce",
        "trigger_price",
        "trigger_direction",
    ]
