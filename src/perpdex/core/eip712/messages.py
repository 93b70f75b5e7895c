"""The messages a trader signs (:class:`Order`, :class:`Cancel`, :class:`Login`) and the
one the operator signs (:class:`Receipt`).

Field names, order and Solidity types of Order and Cancel are fixed by the settlement
contract, Receipt's by the Checkpoints contract; Login is only ever checked by the gateway.
Each struct is declared once here (``ORDER_TYPE``, ``CANCEL_TYPE``, ``LOGIN_TYPE``,
``RECEIPT_TYPE``) and the value objects are validated against it on construction, so an
``Order`` that exists can always be signed and settled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NewType

from perpdex.core.eip712.schema import Field, StructType
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    OrderHash,
    Price,
    ShardId,
    Side,
    Size,
    TimeInForce,
    TriggerDirection,
)

FeePpm = NewType("FeePpm", int)
"""A fee rate in parts per million of notional (``FRACTION_SCALE``)."""

UnixTime = NewType("UnixTime", int)
"""Seconds since the Unix epoch, compared with ``block.timestamp``."""

Nonce = NewType("Nonce", int)
"""Trader-chosen number making each order's hash unique."""

JournalSeq = NewType("JournalSeq", int)
"""An engine shard journal's sequence number of a command (the first is 1)."""

ChainHeadHash = NewType("ChainHeadHash", bytes)
"""The journal's 32-byte hash-chain head after an entry (``perpdex.engine.hashchain``)."""

UnixMillis = NewType("UnixMillis", int)
"""Milliseconds since the Unix epoch: the engine's time stamp of a command."""

# The contract codes these enums as uint8; the position in the tuple is the code.
MARGIN_MODE_CODES: tuple[MarginMode, ...] = (MarginMode.CROSS, MarginMode.ISOLATED)
TIME_IN_FORCE_CODES: tuple[TimeInForce, ...] = (
    TimeInForce.GTC,
    TimeInForce.IOC,
    TimeInForce.FOK,
    TimeInForce.POST_ONLY,
)
_MARGIN_MODE_CODE = {mode: code for code, mode in enumerate(MARGIN_MODE_CODES)}
_TIME_IN_FORCE_CODE = {tif: code for code, tif in enumerate(TIME_IN_FORCE_CODES)}


def margin_mode_code(mode: MarginMode) -> int:
    return _MARGIN_MODE_CODE[mode]


def time_in_force_code(tif: TimeInForce) -> int:
    return _TIME_IN_FORCE_CODE[tif]


def side_of(is_buy: bool) -> Side:
    return Side.BUY if is_buy else Side.SELL


class InvalidOrderError(ValueError):
    """An order field is out of its signed type's range or breaks an order rule."""


class InvalidCancelError(ValueError):
    """A cancel field is out of its signed type's range."""


class InvalidLoginError(ValueError):
    """A login field is out of its signed type's range."""


class InvalidReceiptError(ValueError):
    """A receipt field is out of its signed type's range, or names no journal entry."""


ORDER_TYPE = StructType(
    "Order",
    (
        Field("trader", "address"),
        Field("market", "uint32"),
        Field("isBuy", "bool"),
        Field("size", "uint64"),
        Field("limitPrice", "uint64"),
        Field("maxFeePpm", "uint32"),
        Field("marginMode", "uint8", to_abi=margin_mode_code),
        Field("timeInForce", "uint8", to_abi=time_in_force_code),
        Field("reduceOnly", "bool"),
        Field("expiry", "uint64"),
        Field("nonce", "uint64"),
        Field("triggerPrice", "uint64"),
        Field("triggerDirection", "uint8", to_abi=int),
    ),
)

CANCEL_TYPE = StructType(
    "Cancel",
    (
        Field("trader", "address"),
        Field("orderHash", "bytes32"),
        Field("expiry", "uint64"),
    ),
)

LOGIN_TYPE = StructType(
    "Login",
    (
        Field("trader", "address"),
        Field("sessionKey", "address"),
        Field("expiry", "uint64"),
        Field("nonce", "uint64"),
    ),
)

RECEIPT_TYPE = StructType(
    "Receipt",
    (
        Field("orderHash", "bytes32"),
        Field("shard", "uint16"),
        Field("seq", "uint64"),
        Field("head", "bytes32"),
        Field("time", "uint64"),
    ),
)

NO_TRIGGER_PRICE = Price(0)
"""``Order.trigger_price`` of a plain order (one without a trigger)."""

NO_SESSION_KEY = Address("0x0000000000000000000000000000000000000000")
"""``Login.session_key`` of a login that approves no session key."""


@dataclass(frozen=True, slots=True)
class Order:
    """A trader's signed intent; ``size`` in size units, ``limit_price`` in price units.

    A trigger order (stop-loss, take-profit) has a ``trigger_direction`` other than
    ``NONE`` and a positive ``trigger_price`` (price units): the contract settles it only
    while the market's oracle price is at or above (or at or below) that price. A plain
    order has neither (both zero, which it signs too).
    """

    EIP712_TYPE: ClassVar[StructType] = ORDER_TYPE

    trader: Address
    market: MarketId
    is_buy: bool
    size: Size
    limit_price: Price
    max_fee_ppm: FeePpm
    margin_mode: MarginMode
    time_in_force: TimeInForce
    reduce_only: bool
    expiry: UnixTime
    nonce: Nonce
    trigger_price: Price = NO_TRIGGER_PRICE
    trigger_direction: TriggerDirection = TriggerDirection.NONE

    def __post_init__(self) -> None:
        if not isinstance(self.trigger_direction, TriggerDirection):
            raise InvalidOrderError(
                f"Order.trigger_direction = {self.trigger_direction!r}: not a TriggerDirection"
            )
        ORDER_TYPE.validate(self, InvalidOrderError)
        if self.size <= 0:
            raise InvalidOrderError("Order.size must be positive")
        if self.limit_price <= 0:
            raise InvalidOrderError("Order.limit_price must be positive")
        if (self.trigger_price > 0) != (self.trigger_direction is not TriggerDirection.NONE):
            raise InvalidOrderError(
                "Order.trigger_price must be positive exactly when trigger_direction is not NONE"
            )

    @property
    def is_trigger(self) -> bool:
        """Whether the order waits for the oracle price to cross its trigger."""
        return self.trigger_direction is not TriggerDirection.NONE

    @property
    def side(self) -> Side:
        return side_of(self.is_buy)


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancels the order whose EIP-712 digest is ``order_hash``; void after ``expiry``."""

    EIP712_TYPE: ClassVar[StructType] = CANCEL_TYPE

    trader: Address
    order_hash: OrderHash
    expiry: UnixTime

    def __post_init__(self) -> None:
        CANCEL_TYPE.validate(self, InvalidCancelError)


@dataclass(frozen=True, slots=True)
class Login:
    """Authenticates a gateway session of ``trader`` until ``expiry``.

    Signed by the trader, a login with a ``session_key`` also approves that key, until
    ``expiry``, to sign later logins of the trader (sessions, never orders or cancels: the
    contract only accepts the trader's own signature on those).
    """

    EIP712_TYPE: ClassVar[StructType] = LOGIN_TYPE

    trader: Address
    session_key: Address
    expiry: UnixTime
    nonce: Nonce

    def __post_init__(self) -> None:
        LOGIN_TYPE.validate(self, InvalidLoginError)


@dataclass(frozen=True, slots=True)
class Receipt:
    """The operator's word that the order ``order_hash`` is entry ``seq`` of engine shard
    ``shard``'s journal, stamped ``time`` (the entry's own time stamp, Unix ms), and that
    that journal's chain head after the entry is ``head``. Each shard has its own journal
    and seqs, so (shard, seq) names an entry; the embedded node is shard 0.

    Signed by the key that posts checkpoints, in the Checkpoints contract's domain: every
    field follows from the published journal, so a receipt that disagrees with it (or two
    receipts that disagree with each other) proves the operator lied.
    """

    EIP712_TYPE: ClassVar[StructType] = RECEIPT_TYPE

    order_hash: OrderHash
    shard: ShardId
    seq: JournalSeq
    head: ChainHeadHash
    time: UnixMillis

    def __post_init__(self) -> None:
        RECEIPT_TYPE.validate(self, InvalidReceiptError)
        if self.seq == 0:
            raise InvalidReceiptError("Receipt.seq must be positive: seq 0 is the genesis")
