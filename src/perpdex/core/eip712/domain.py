"""The EIP-712 domain of one deployed Exchange: separator, digests and eth-account signing dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NewType

from perpdex.core.eip712.schema import Eip712Struct, Field, StructType
from perpdex.core.signing import Digest, keccak256
from perpdex.core.types import Address

ChainId = NewType("ChainId", int)
"""EIP-155 chain id of the chain the Exchange is deployed on."""

DOMAIN_TYPE = StructType(
    "EIP712Domain",
    (
        Field("name", "string"),
        Field("version", "string"),
        Field("chainId", "uint256"),
        Field("verifyingContract", "address"),
    ),
)
"""The fields snekmate's ``eip712_domain_separator`` hashes, in its order."""

DOMAIN_NAME = "perpdex"
DOMAIN_VERSION = "1"

_EIP191_TYPED_DATA_PREFIX = b"\x19\x01"


class InvalidDomainError(ValueError):
    """A domain field does not fit its Solidity type (e.g. an unchecksummed contract address)."""


@dataclass(frozen=True, slots=True)
class Eip712Domain:
    """The signing domain; its separator is computed once, at construction."""

    EIP712_TYPE: ClassVar[StructType] = DOMAIN_TYPE

    chain_id: ChainId
    verifying_contract: Address
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION
    separator: bytes = field(init=False, repr=False, compare=False)
    _digest_prefix: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        DOMAIN_TYPE.validate(self, InvalidDomainError)
        separator = DOMAIN_TYPE.struct_hash(self)
        object.__setattr__(self, "separator", separator)
        object.__setattr__(self, "_digest_prefix", _EIP191_TYPED_DATA_PREFIX + separator)

    def digest(self, message: Eip712Struct) -> Digest:
        """``keccak256(0x1901 || domainSeparator || hashStruct(message))``: what is signed."""
        return Digest(keccak256(self._digest_prefix + message.EIP712_TYPE.struct_hash(message)))

    def full_message(self, message: Eip712Struct) -> dict[str, Any]:
        """The dict for ``eth_account.messages.encode_typed_data(full_message=...)``."""
        primary = message.EIP712_TYPE
        return {
            "types": {
                DOMAIN_TYPE.name: DOMAIN_TYPE.eip712_fields(),
                primary.name: primary.eip712_fields(),
            },
            "primaryType": primary.name,
            "domain": DOMAIN_TYPE.message(self),
            "message": primary.message(message),
        }
