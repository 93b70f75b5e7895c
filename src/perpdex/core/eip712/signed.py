"""Signing and verifying orders, cancels and logins: what the SDK and the gateway call.

``verify_*`` is the fast path: one struct hash and one keccak from precomputed parts, one
libsecp256k1 recovery, and a comparison of 20 raw address bytes (no checksum encoding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from perpdex.core.eip712.domain import Eip712Domain
from perpdex.core.eip712.messages import Cancel, Login, Order
from perpdex.core.eip712.schema import Eip712Struct
from perpdex.core.signing import (
    Digest,
    InvalidSignatureError,
    Signature,
    SigningKey,
    address_bytes,
    recover_address,
    recover_address_bytes,
)
from perpdex.core.types import Address, OrderHash


class TraderMessage(Eip712Struct, Protocol):
    """A message the contract accepts only when signed by its ``trader``."""

    @property
    def trader(self) -> Address: ...


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """An order with a signature by its trader; build it with sign_order or verify_order."""

    order: Order
    signature: Signature
    order_hash: OrderHash

    @property
    def signer(self) -> Address:
        """The recovered signer, which is the trader by construction."""
        return self.order.trader


@dataclass(frozen=True, slots=True)
class SignedCancel:
    """A cancel with a signature by its trader; build it with sign_cancel or verify_cancel."""

    cancel: Cancel
    signature: Signature
    digest: Digest

    @property
    def signer(self) -> Address:
        """The recovered signer, which is the trader by construction."""
        return self.cancel.trader


def sign_order(order: Order, key: SigningKey, domain: Eip712Domain) -> SignedOrder:
    digest, signature = _sign(order, key, domain)
    return SignedOrder(order, signature, OrderHash(digest))


def verify_order(order: Order, signature: Signature, domain: Eip712Domain) -> SignedOrder:
    """Raises :class:`InvalidSignatureError` unless ``order.trader`` signed ``order``."""
    return SignedOrder(order, signature, OrderHash(_verify(order, signature, domain)))


def order_signed_by(
    order: Order, signature: Signature, digest: Digest, signer: bytes | None
) -> SignedOrder:
    """``verify_order`` when the recovery ran elsewhere: ``digest`` is
    ``domain.digest(order)`` and ``signer`` the address bytes recovered from it with
    ``signature`` (None: none recovered). Raises :class:`InvalidSignatureError` unless the
    signer is ``order.trader``."""
    if signer != address_bytes(order.trader):
        raise InvalidSignatureError(f"signature is not by the trader {order.trader}")
    return SignedOrder(order, signature, OrderHash(digest))


def sign_cancel(cancel: Cancel, key: SigningKey, domain: Eip712Domain) -> SignedCancel:
    digest, signature = _sign(cancel, key, domain)
    return SignedCancel(cancel, signature, digest)


def verify_cancel(cancel: Cancel, signature: Signature, domain: Eip712Domain) -> SignedCancel:
    """Raises :class:`InvalidSignatureError` unless ``cancel.trader`` signed ``cancel``."""
    return SignedCancel(cancel, signature, _verify(cancel, signature, domain))


def sign_login(login: Login, key: SigningKey, domain: Eip712Domain) -> Signature:
    """The trader signs its logins (approving ``login.session_key``, if set); an approved
    session key signs the logins it opens. The gateway decides which signers it accepts."""
    if key.address not in (login.trader, login.session_key):
        raise InvalidSignatureError(f"key of {key.address} cannot sign a login of {login.trader}")
    return key.sign_digest(domain.digest(login))


def recover_signer(message: Eip712Struct, signature: Signature, domain: Eip712Domain) -> Address:
    """Whoever signed ``message`` with ``signature`` (for error reports; verify_* is faster)."""
    return recover_address(domain.digest(message), signature)


def _sign(
    message: TraderMessage, key: SigningKey, domain: Eip712Domain
) -> tuple[Digest, Signature]:
    if key.address != message.trader:
        raise InvalidSignatureError(f"key of {key.address} cannot sign for {message.trader}")
    digest = domain.digest(message)
    return digest, key.sign_digest(digest)


def _verify(message: TraderMessage, signature: Signature, domain: Eip712Domain) -> Digest:
    digest = domain.digest(message)
    if recover_address_bytes(digest, signature) != address_bytes(message.trader):
        raise InvalidSignatureError(f"signature is not by the trader {message.trader}")
    return digest
