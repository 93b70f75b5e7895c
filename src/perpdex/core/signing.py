"""secp256k1 signatures over 32-byte digests: signing keys, parsing, fast signer recovery.

This module knows nothing of EIP-712; :mod:`perpdex.core.eip712` computes the digests. The
rules match the settlement contract (snekmate ``ecdsa``): ``v`` is 27 or 28 and ``s`` is in
the lower half of the curve order, so each (digest, signer) pair has exactly one accepted
signature. A :class:`Signature` that breaks a rule cannot be constructed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

import coincurve
from Crypto.Hash.keccak import _raw_keccak_lib  # type: ignore[attr-defined]
from Crypto.Util._raw_api import VoidPointer, create_string_buffer, get_raw_buffer
from eth_keys.constants import SECPK1_N
from eth_utils.address import to_checksum_address

from perpdex.core.types import Address

Digest = NewType("Digest", bytes)
"""A 32-byte keccak256 digest that is signed (for orders, also the :class:`OrderHash`)."""

MAX_S = SECPK1_N // 2
"""Largest accepted ``s`` (snekmate's ``_MALLEABILITY_THRESHOLD``): rejects the mirror signature."""

V_OFFSET = 27
"""Ethereum's ``v`` is the recovery id plus 27."""

SIGNATURE_LENGTH = 65


class InvalidSignatureError(ValueError):
    """A signature is malformed, malleable, unrecoverable, or not by the expected signer."""


_KECCAK256_CAPACITY = 64  # bytes: twice the digest size
_KECCAK_ROUNDS = 24
_KECCAK_PADDING = 0x01  # original Keccak, not SHA-3's 0x06


def keccak256(data: bytes) -> bytes:
    """Ethereum's keccak256.

    Calls the C functions behind pycryptodome's ``keccak`` (version pinned in pyproject)
    through its own ctypes/cffi helpers: the public ``keccak.new(...).digest()`` spends half
    of its 3 us in Python wrappers, and verifying one signature hashes three times. A fresh
    state per call keeps this thread-safe; tests pin it to known vectors and to eth-hash.
    """
    state = VoidPointer()
    if _raw_keccak_lib.keccak_init(state.address_of(), _KECCAK256_CAPACITY, _KECCAK_ROUNDS):
        raise MemoryError("keccak state allocation failed")
    handle = state.get()
    out = create_string_buffer(32, None)
    _raw_keccak_lib.keccak_absorb(handle, data, len(data))
    _raw_keccak_lib.keccak_digest(handle, out, 32, _KECCAK_PADDING)
    _raw_keccak_lib.keccak_destroy(handle)
    return get_raw_buffer(out)


@dataclass(frozen=True, slots=True)
class Signature:
    """An Ethereum ``(v, r, s)`` signature, valid in form (not yet checked against a signer)."""

    v: int
    r: int
    s: int

    def __post_init__(self) -> None:
        if self.v not in (V_OFFSET, V_OFFSET + 1):
            raise InvalidSignatureError(f"v must be 27 or 28, got {self.v}")
        if not 0 < self.r < SECPK1_N:
            raise InvalidSignatureError("r out of range")
        if not 0 < self.s <= MAX_S:
            raise InvalidSignatureError("s must be in the lower half of the curve order")

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Parse ``r || s || v`` (65 bytes): eth-account's and ``ecdsa._recover_sig``'s layout."""
        if len(data) != SIGNATURE_LENGTH:
            raise InvalidSignatureError(f"signature must be {SIGNATURE_LENGTH} bytes")
        return cls(v=data[64], r=int.from_bytes(data[:32]), s=int.from_bytes(data[32:64]))

    def to_bytes(self) -> bytes:
        """``r || s || v``, 65 bytes."""
        return self.r.to_bytes(32) + self.s.to_bytes(32) + bytes((self.v,))

    def recoverable_bytes(self) -> bytes:
        """libsecp256k1's compact recoverable layout: ``r || s || recovery id`` (0 or 1)."""
        return self.r.to_bytes(32) + self.s.to_bytes(32) + bytes((self.v - V_OFFSET,))


class SigningKey:
    """A secp256k1 private key and its address. The secret never appears in ``repr``."""

    __slots__ = ("_key", "address")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32 or not 0 < int.from_bytes(secret) < SECPK1_N:
            raise ValueError("a private key is 32 bytes encoding an integer in [1, n)")
        self._key = coincurve.PrivateKey(secret)
        self.address = Address(
            to_checksum_address(_address_of(self._key.public_key.format(compressed=False)))
        )

    @property
    def secret(self) -> bytes:
        return bytes(self._key.secret)

    def __repr__(self) -> str:
        return f"SigningKey(address={self.address})"

    def sign_digest(self, digest: Digest) -> Signature:
        """Deterministic (RFC 6979) and always low-s: libsecp256k1 normalizes ``s``."""
        compact = self._key.sign_recoverable(digest, hasher=None)
        return Signature(
            v=V_OFFSET + compact[64],
            r=int.from_bytes(compact[:32]),
            s=int.from_bytes(compact[32:64]),
        )


def recover_address_bytes(digest: Digest, signature: Signature) -> bytes:
    """The 20 raw bytes of the signer's address: the hot path, no checksum encoding."""
    signer = recover_compact(digest, signature.recoverable_bytes())
    if signer is None:
        raise InvalidSignatureError("no public key recovers from this signature")
    return signer


def recover_compact(digest: bytes, recoverable: bytes) -> bytes | None:
    """The signer's 20 address bytes from a digest and a signature in libsecp256k1's compact
    layout (:meth:`Signature.recoverable_bytes`); None when no key recovers from it (``r``
    is not the x-coordinate of a curve point: the EVM's ecrecover returns 0 there)."""
    try:
        public = coincurve.PublicKey.from_signature_and_message(recoverable, digest, hasher=None)
    except ValueError:
        return None
    return _address_of(public.format(compressed=False))


def recover_address(digest: Digest, signature: Signature) -> Address:
    """The signer's checksummed address (slower than :func:`recover_address_bytes`)."""
    return Address(to_checksum_address(recover_address_bytes(digest, signature)))


def address_bytes(address: Address) -> bytes:
    """The 20 raw bytes of a ``0x``-prefixed address (its checksum was checked on entry)."""
    return bytes.fromhex(address[2:])


def _address_of(uncompressed_public_key: bytes) -> bytes:
    # The 0x04 prefix byte is not part of the hashed key.
    return keccak256(uncompressed_public_key[1:])[12:]
