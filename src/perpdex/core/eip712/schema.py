"""A struct type declared once as ``(name, solidity type)`` fields; everything else is derived.

From the field list a :class:`StructType` derives the EIP-712 type string and typehash, the
``types`` entry of eth-account's signing dict, the ``message`` dict, range validation and the
struct-hash encoder. The encoder is a tuple of per-field closures chosen once at import, so
hashing a struct is one ``to_bytes`` (or slice) per field and one keccak: no ABI library on
the hot path.

Only the atomic types the protocol signs are supported: ``uint<N>``, ``bool``, ``address``,
``bytes32`` and ``string``. A struct field's Python attribute is its snake_case name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any, ClassVar, Protocol

from eth_utils.address import is_checksum_address

from perpdex.core.signing import keccak256

AbiValue = int | bool | str | bytes
"""A field's value as eth-account's ``encode_typed_data`` takes it."""

WORD = 32
_UINT = re.compile(r"uint([1-9][0-9]*)")
_ADDRESS_PADDING = bytes(WORD - 20)


class Eip712Struct(Protocol):
    """A Python value object signed as one EIP-712 struct."""

    EIP712_TYPE: ClassVar[StructType]


@dataclass(frozen=True, slots=True)
class Field:
    """One member of an EIP-712 struct.

    ``to_abi`` maps a Python value whose type is richer than the Solidity one (an enum coded
    as ``uint8``) to the signed value; without it the Python value is signed as is.
    """

    name: str
    solidity_type: str
    to_abi: Callable[[Any], AbiValue] | None = None

    @property
    def attribute(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()


@dataclass(frozen=True, slots=True)
class StructType:
    name: str
    fields: tuple[Field, ...]
    type_string: str = field(init=False)
    typehash: bytes = field(init=False, repr=False)
    _getters: tuple[Callable[[object], AbiValue], ...] = field(init=False, repr=False)
    _encoders: tuple[Callable[[object], bytes], ...] = field(init=False, repr=False)
    _checks: tuple[Callable[[object], str | None], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        members = ",".join(f"{f.solidity_type} {f.name}" for f in self.fields)
        type_string = f"{self.name}({members})"
        getters = tuple(_abi_getter(f) for f in self.fields)
        # frozen: these derived members are set once, here
        object.__setattr__(self, "type_string", type_string)
        object.__setattr__(self, "typehash", keccak256(type_string.encode()))
        object.__setattr__(self, "_getters", getters)
        object.__setattr__(
            self,
            "_encoders",
            tuple(
                _word_encoder(f.solidity_type, g) for f, g in zip(self.fields, getters, strict=True)
            ),
        )
        object.__setattr__(
            self, "_checks", tuple(_type_check(f.solidity_type) for f in self.fields)
        )

    def eip712_fields(self) -> list[dict[str, str]]:
        """This type's entry of the ``types`` member of an EIP-712 signing dict."""
        return [{"name": f.name, "type": f.solidity_type} for f in self.fields]

    def message(self, value: object) -> dict[str, AbiValue]:
        """The ``message`` (or ``domain``) member of an EIP-712 signing dict."""
        return {f.name: get(value) for f, get in zip(self.fields, self._getters, strict=True)}

    def struct_hash(self, value: object) -> bytes:
        """``hashStruct(value)`` of EIP-712: keccak of the typehash and one word per field."""
        return keccak256(self.typehash + b"".join([encode(value) for encode in self._encoders]))

    def validate(self, value: object, error: type[ValueError]) -> None:
        """Raise ``error`` naming the first field whose value its Solidity type cannot hold."""
        for f, get, check in zip(self.fields, self._getters, self._checks, strict=True):
            try:
                signed = get(value)
            except (KeyError, ValueError, TypeError) as cause:
                raise error(f"{self.name}.{f.attribute}: {cause}") from None
            problem = check(signed)
            if problem:
                raise error(f"{self.name}.{f.attribute} = {signed!r}: {problem}")


def _abi_getter(f: Field) -> Callable[[object], AbiValue]:
    get = attrgetter(f.attribute)
    to_abi = f.to_abi
    if to_abi is None:
        return get
    return lambda value: to_abi(get(value))


def _uint_bits(solidity_type: str) -> int | None:
    uint = _UINT.fullmatch(solidity_type)
    if uint is None:
        return None
    bits = int(uint.group(1))
    if bits % 8 or bits > 256:
        raise TypeError(f"{solidity_type!r} is not a Solidity type")
    return bits


def _word_encoder(solidity_type: str, get: Callable[[object], Any]) -> Callable[[object], bytes]:
    # bool is an int subclass: True.to_bytes gives the word 1, as abi.encode does.
    if _uint_bits(solidity_type) or solidity_type == "bool":
        return lambda value: get(value).to_bytes(WORD)
    if solidity_type == "address":
        return lambda value: _ADDRESS_PADDING + bytes.fromhex(get(value)[2:])
    if solidity_type == "bytes32":
        return get
    if solidity_type == "string":
        return lambda value: keccak256(get(value).encode())
    raise TypeError(f"unsupported EIP-712 field type {solidity_type!r}")


def _type_check(solidity_type: str) -> Callable[[object], str | None]:
    """The function naming what is wrong with a value for ``solidity_type`` (None: nothing)."""
    bits = _uint_bits(solidity_type)
    if bits:
        bound = 1 << bits

        def uint_problem(value: object) -> str | None:
            if isinstance(value, bool) or not isinstance(value, int):
                return "not an integer"
            return None if 0 <= value < bound else f"out of range for {solidity_type}"

        return uint_problem
    if solidity_type == "bool":
        return lambda value: None if isinstance(value, bool) else "not a bool"
    if solidity_type == "address":
        return lambda value: (
            None
            if isinstance(value, str) and _is_checksum_address(value)
            else "not a checksummed address"
        )
    if solidity_type == "bytes32":
        return lambda value: (
            None if isinstance(value, bytes) and len(value) == WORD else "not 32 bytes"
        )
    return lambda value: None if isinstance(value, str) else "not a string"


@lru_cache(maxsize=1 << 16)
def _is_checksum_address(text: str) -> bool:
    # The check hashes the address (about 13 us); a trader signs many orders with one.
    return bool(is_checksum_address(text))
