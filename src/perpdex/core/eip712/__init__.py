"""EIP-712 types of the protocol, each declared once; digests, signing and fast verification.

Public API::

    domain = Eip712Domain(ChainId(31337), exchange_address)
    signed = sign_order(order, SigningKey(secret), domain)        # SDK side
    signed = verify_order(order, Signature(v, r, s), domain)      # gateway side
    typehash("Order") == exchange.ORDER_TYPEHASH()                # contract test
"""

from perpdex.core.eip712.domain import DOMAIN_TYPE, ChainId, Eip712Domain, InvalidDomainError
from perpdex.core.eip712.messages import (
    CANCEL_TYPE,
    LOGIN_TYPE,
    MARGIN_MODE_CODES,
    NO_SESSION_KEY,
    NO_TRIGGER_PRICE,
    ORDER_TYPE,
    RECEIPT_TYPE,
    TIME_IN_FORCE_CODES,
    Cancel,
    ChainHeadHash,
    FeePpm,
    InvalidCancelError,
    InvalidLoginError,
    InvalidOrderError,
    InvalidReceiptError,
    JournalSeq,
    Login,
    Nonce,
    Order,
    Receipt,
    UnixMillis,
    UnixTime,
    margin_mode_code,
    side_of,
    time_in_force_code,
)
from perpdex.core.eip712.schema import AbiValue, Eip712Struct, Field, StructType
from perpdex.core.eip712.signed import (
    SignedCancel,
    SignedOrder,
    order_signed_by,
    recover_signer,
    sign_cancel,
    sign_login,
    sign_order,
    verify_cancel,
    verify_order,
)

EIP712_TYPES: dict[str, StructType] = {
    t.name: t for t in (DOMAIN_TYPE, ORDER_TYPE, CANCEL_TYPE, LOGIN_TYPE, RECEIPT_TYPE)
}


def typehash(type_name: str) -> bytes:
    """``keccak256`` of the type string, as the contract's ``*_TYPEHASH`` constants hold it."""
    return EIP712_TYPES[type_name].typehash


__all__ = [
    "CANCEL_TYPE",
    "DOMAIN_TYPE",
    "EIP712_TYPES",
    "LOGIN_TYPE",
    "MARGIN_MODE_CODES",
    "NO_SESSION_KEY",
    "NO_TRIGGER_PRICE",
    "ORDER_TYPE",
    "RECEIPT_TYPE",
    "TIME_IN_FORCE_CODES",
    "AbiValue",
    "Cancel",
    "ChainHeadHash",
    "ChainId",
    "Eip712Domain",
    "Eip712Struct",
    "FeePpm",
    "Field",
    "InvalidCancelError",
    "InvalidDomainError",
    "InvalidLoginError",
    "InvalidOrderError",
    "InvalidReceiptError",
    "JournalSeq",
    "Login",
    "Nonce",
    "Order",
    "Receipt",
    "SignedCancel",
    "SignedOrder",
    "StructType",
    "UnixMillis",
    "UnixTime",
    "margin_mode_code",
    "order_signed_by",
    "recover_signer",
    "side_of",
    "sign_cancel",
    "sign_login",
    "sign_order",
    "time_in_force_code",
    "typehash",
    "verify_cancel",
    "verify_order",
]
