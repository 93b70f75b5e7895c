"""One private key, as the two signers the SDK needs: orders (coincurve) and transactions
(eth-account)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from perpdex.core.signing import SigningKey
from perpdex.core.types import Address
from perpdex.sdk.errors import InvalidKeyError


@dataclass(frozen=True, slots=True)
class Wallet:
    signing_key: SigningKey
    """Signs EIP-712 orders and cancels."""
    account: LocalAccount
    """Signs on-chain transactions."""

    @property
    def address(self) -> Address:
        return self.signing_key.address

    @classmethod
    def from_private_key(cls, key: str | bytes) -> Wallet:
        """``key`` as 0x-hex (or bare hex) or 32 raw bytes; :class:`InvalidKeyError` otherwise.
        The key never appears in the error."""
        try:
            secret = key if isinstance(key, bytes) else bytes.fromhex(key.removeprefix("0x"))
            signing_key = SigningKey(secret)
        except ValueError:
            raise InvalidKeyError("the private key is not 32 bytes of hex") from None
        account: LocalAccount = Account.from_key(secret)
        return cls(signing_key, account)

    def __repr__(self) -> str:
        return f"Wallet({self.address})"
