"""secp256k1 layer: signature form rules (the contract's), keys, recovery against eth-account."""

from __future__ import annotations

from pathlib import Path

import pytest
import snekmate
from eth_account import Account
from eth_hash.auto import keccak as reference_keccak
from eth_keys.constants import SECPK1_N, SECPK1_P
from eth_keys.exceptions import BadSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from perpdex.core.signing import (
    MAX_S,
    Digest,
    InvalidSignatureError,
    Signature,
    SigningKey,
    address_bytes,
    keccak256,
    recover_address,
    recover_address_bytes,
)
from perpdex.core.units import vyper_constants

secrets = st.integers(min_value=1, max_value=SECPK1_N - 1).map(lambda k: k.to_bytes(32))
digests = st.binary(min_size=32, max_size=32).map(Digest)


def test_keccak256_known_vectors() -> None:
    empty = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"").hex() == empty
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=700))  # several 136-byte blocks
def test_keccak256_matches_eth_hash(data: bytes) -> None:
    assert keccak256(data) == reference_keccak(data)


def test_low_s_bound_is_snekmates() -> None:
    ecdsa = Path(snekmate.__path__[0]) / "utils" / "ecdsa.vy"
    assert vyper_constants(ecdsa)["_MALLEABILITY_THRESHOLD"] == MAX_S


@settings(max_examples=60, deadline=None)
@given(secret=secrets, digest=digests)
def test_sign_and_recover_match_eth_account(secret: bytes, digest: Digest) -> None:
    key = SigningKey(secret)
    assert key.address == Account.from_key(secret).address
    signature = key.sign_digest(digest)
    assert signature.to_bytes() == Account.unsafe_sign_hash(digest, secret).signature
    assert signature.s <= MAX_S
    assert recover_address(digest, signature) == key.address
    assert recover_address_bytes(digest, signature) == address_bytes(key.address)
    assert Signature.from_bytes(signature.to_bytes()) == signature


@settings(max_examples=60, deadline=None)
@given(
    digest=digests,
    v=st.sampled_from([27, 28]),
    r=st.integers(min_value=1, max_value=SECPK1_N - 1),
    s=st.integers(min_value=1, max_value=MAX_S),
)
def test_recovery_of_any_signature_matches_eth_account(
    digest: Digest, v: int, r: int, s: int
) -> None:
    signature = Signature(v=v, r=r, s=s)
    try:
        expected = Account._recover_hash(digest, vrs=(v, r, s))
    except BadSignature:  # no curve point has x == r
        with pytest.raises(InvalidSignatureError):
            recover_address(digest, signature)
    else:
        assert recover_address(digest, signature) == expected


def test_mirror_signature_is_rejected() -> None:
    """(r, n - s, v ^ 1) recovers the same signer on a bare ecrecover; the contract refuses it."""
    key = SigningKey(bytes(31) + b"\x07")
    signature = key.sign_digest(Digest(bytes(32)))
    mirror = bytearray(signature.to_bytes())
    mirror[32:64] = (SECPK1_N - signature.s).to_bytes(32)
    mirror[64] = 27 + 28 - mirror[64]
    assert Account._recover_hash(bytes(32), signature=bytes(mirror)) == key.address
    with pytest.raises(InvalidSignatureError, match="lower half"):
        Signature.from_bytes(bytes(mirror))


@pytest.mark.parametrize("v", [0, 1, 26, 29, 255])
def test_bad_v_is_rejected(v: int) -> None:
    with pytest.raises(InvalidSignatureError, match="v must be"):
        Signature(v=v, r=1, s=1)


@pytest.mark.parametrize(("r", "s"), [(0, 1), (SECPK1_N, 1), (1, 0), (1, MAX_S + 1), (1, SECPK1_N)])
def test_out_of_range_r_s_is_rejected(r: int, s: int) -> None:
    with pytest.raises(InvalidSignatureError):
        Signature(v=27, r=r, s=s)


@pytest.mark.parametrize("length", [0, 64, 66])
def test_wrong_length_is_rejected(length: int) -> None:
    with pytest.raises(InvalidSignatureError, match="65 bytes"):
        Signature.from_bytes(bytes(length))


def test_r_off_the_curve_is_unrecoverable() -> None:
    # Euler's criterion: r^3 + 7 must be a square mod p for r to be a point's x-coordinate.
    r = next(x for x in range(1, 100) if pow(x**3 + 7, (SECPK1_P - 1) // 2, SECPK1_P) != 1)
    with pytest.raises(InvalidSignatureError, match="no public key"):
        recover_address_bytes(Digest(bytes(32)), Signature(v=27, r=r, s=1))


@pytest.mark.parametrize("secret", [bytes(32), SECPK1_N.to_bytes(32), bytes(31), b"\x01" * 33])
def test_invalid_secrets_are_refused(secret: bytes) -> None:
    with pytest.raises(ValueError, match="private key"):
        SigningKey(secret)


def test_repr_hides_the_secret() -> None:
    key = SigningKey(b"\x11" * 32)
    assert key.address in repr(key)
    assert key.secret.hex() not in repr(key)
