"""Signed orders as the engine's opaque order payload, and engine fills as settlement matches.

The payload is the order's four calldata words (``encoding.pack_order``, 128 bytes): what
``settle`` sends anyway; a trigger order adds its trigger price as a fifth word (160 bytes),
which ``settle`` sends in its trigger argument. Reading it back re-derives the EIP-712 hash
and checks the signature (coincurve), so a payload that does not carry its trader's valid
signature never reaches a batch (and an ``r`` off the curve, which would revert the whole
batch in snekmate's ``ecrecover``, is caught here).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from eth_utils.address import to_checksum_address

from perpdex.core.eip712 import (
    MARGIN_MODE_CODES,
    TIME_IN_FORCE_CODES,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    verify_order,
)
from perpdex.core.signing import Signature
from perpdex.core.types import Address, MarketId, OrderHash, Price, Size, TriggerDirection
from perpdex.engine.events import Filled
from perpdex.settlement.encoding import Match, pack_order

VERIFIED_KEPT: Final = 16_384
"""Signed orders kept by payload once verified (about 1 KiB each with their key)."""
_WORD = 32
_WORDS = 4
_TRIGGER_WORDS = 5
_U2, _U8, _U32, _U64, _U160 = 3, (1 << 8) - 1, (1 << 32) - 1, (1 << 64) - 1, (1 << 160) - 1


def order_payload(signed: SignedOrder) -> bytes:
    """The engine payload of ``signed``: its packed calldata words, big-endian, and its
    trigger price after them if it is a trigger order."""
    words: tuple[int, ...] = pack_order(signed)
    if signed.order.is_trigger:
        words = (*words, signed.order.trigger_price)
    return b"".join(word.to_bytes(_WORD, "big") for word in words)


class _Verified:
    """The signed orders verified lately, by payload and domain, the least recently used
    dropped beyond ``VERIFIED_KEPT``. Locked: the position manager's fold reads payloads in
    a worker thread while the loop reads others."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[bytes, Eip712Domain], SignedOrder] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, payload: bytes, domain: Eip712Domain) -> SignedOrder | None:
        with self._lock:
            signed = self._kept.get((payload, domain))
            if signed is not None:
                self._kept.move_to_end((payload, domain))
            return signed

    def keep(self, payload: bytes, domain: Eip712Domain, signed: SignedOrder) -> None:
        with self._lock:
            self._kept[(payload, domain)] = signed
            self._kept.move_to_end((payload, domain))
            if len(self._kept) > VERIFIED_KEPT:
                self._kept.popitem(last=False)


_verified: Final = _Verified()


def order_from_payload(payload: bytes, domain: Eip712Domain) -> SignedOrder:
    """The signed order in ``payload``; raises ValueError (InvalidSignatureError,
    InvalidOrderError) if it is malformed or not signed by its trader.

    A payload verified lately (here, or by the gateway's verifying workers:
    :func:`verified_payload`) is not verified again: a resting order's fills, and each fill's
    reads by the position manager and then by settlement, recover no signature beyond the
    gateway's. A payload that fails is never kept: it fails again, the same way."""
    payload = bytes(payload)
    signed = _verified.get(payload, domain)
    if signed is None:
        order, signature = _decode(payload)
        signed = verify_order(order, signature, domain)
        _verified.keep(payload, domain, signed)
    return signed


def verified_payload(signed: SignedOrder, domain: Eip712Domain) -> bytes:
    """The payload of ``signed``, which was verified in ``domain`` (by a worker process,
    whose own memory this process does not share): kept, so its later reads here recover
    no signer again."""
    payload = order_payload(signed)
    _verified.keep(payload, domain, signed)
    return payload


def order_of_payload(payload: bytes) -> Order:
    """The order terms in ``payload``, its signature unchecked (the engine only holds
    payloads the gateway verified)."""
    order, _ = _decode(payload)
    return order


def order_hash_of_payload(payload: bytes, domain: Eip712Domain) -> OrderHash:
    """The EIP-712 hash of the order in ``payload``, its signature unchecked (the engine
    only holds payloads the gateway verified): what the account history names it by."""
    signed = _verified.get(bytes(payload), domain)
    if signed is not None:
        return signed.order_hash
    order, _ = _decode(payload)
    return OrderHash(domain.digest(order))


def _decode(payload: bytes) -> tuple[Order, Signature]:
    if len(payload) not in (_WORD * _WORDS, _WORD * _TRIGGER_WORDS):
        raise ValueError(
            f"an order payload is {_WORD * _WORDS} or {_WORD * _TRIGGER_WORDS} bytes,"
            f" got {len(payload)}"
        )
    head, body, r, s, *trigger = (
        int.from_bytes(payload[i : i + _WORD], "big") for i in range(0, len(payload), _WORD)
    )
    margin_mode, time_in_force = head >> 224 & _U8, head >> 232 & _U8
    if margin_mode >= len(MARGIN_MODE_CODES) or time_in_force >= len(TIME_IN_FORCE_CODES):
        raise ValueError(
            f"an order payload with margin mode code {margin_mode} and time in force code"
            f" {time_in_force}: one is unknown"
        )
    # the bit layout of encoding.pack_order (and orders.vy)
    order = Order(
        trader=Address(to_checksum_address((head & _U160).to_bytes(20, "big"))),
        market=MarketId(head >> 160 & _U32),
        is_buy=bool(head >> 240 & 1),
        size=Size(body & _U64),
        limit_price=Price(body >> 64 & _U64),
        max_fee_ppm=FeePpm(head >> 192 & _U32),
        margin_mode=MARGIN_MODE_CODES[margin_mode],
        time_in_force=TIME_IN_FORCE_CODES[time_in_force],
        reduce_only=bool(head >> 241 & 1),
        expiry=UnixTime(body >> 128 & _U64),
        nonce=Nonce(body >> 192 & _U64),
        # a four-word payload with trigger bits fails Order's own check (direction without price)
        trigger_price=Price(trigger[0] if trigger else 0),
        trigger_direction=TriggerDirection(head >> 242 & _U2),
    )
    return order, Signature(v=head >> 248, r=r, s=s)


def match_from_fill(fill: Filled, domain: Eip712Domain) -> Match:
    """The settlement form of an engine fill (both orders' payloads must be signed orders)."""
    return Match(
        maker=order_from_payload(fill.maker_payload, domain),
        taker=order_from_payload(fill.taker_payload, domain),
        price=Price(fill.price),
        size=Size(fill.size),
    )
