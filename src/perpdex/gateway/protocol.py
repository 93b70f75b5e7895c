"""The gateway's JSON wire protocol: every frame a client sends or receives (docs/protocol.md).

A client frame is one request object, or a JSON array of requests (a batch), each tagged by
``op``; a server frame is one object tagged by ``type``. Members are camelCase. A signed
message (``order``, ``cancel``, ``login``) is exactly the EIP-712 ``message`` its signer
signed: same names, same integers (sizes in size units, prices in price units, enums as
their uint8 codes, expiries in Unix seconds), so a wallet's signing dict goes on the wire
as is. Decoding validates types, so malformed input raises :class:`ProtocolError` with a
typed :class:`ErrorCode` instead of reaching the gateway's logic.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

import msgspec
from eth_utils.address import to_checksum_address

from perpdex.core.eip712 import (
    MARGIN_MODE_CODES,
    TIME_IN_FORCE_CODES,
    Cancel,
    FeePpm,
    Login,
    Nonce,
    Order,
    UnixTime,
    margin_mode_code,
    time_in_force_code,
)
from perpdex.core.signing import Signature
from perpdex.core.types import (
    Address,
    ClientOrderId,
    MarketId,
    OrderHash,
    Price,
    Size,
    TriggerDirection,
)
from perpdex.receipts.wire import WireReceipt

MAX_BATCH: Final = 100
"""Most requests in one array frame."""

MAX_CLIENT_ID_LENGTH: Final = 64

_TRIGGER_DIRECTION_CODES: Final = frozenset(int(d) for d in TriggerDirection)


class ErrorCode(Enum):
    """Why a request was refused; the ``code`` of an :class:`Error` frame."""

    MALFORMED = "malformed"  # not JSON, unknown op, wrong member types, bad field values
    TOO_LARGE = "too_large"  # frame above the protocol's size limit, or batch too long
    BAD_SIGNATURE = "bad_signature"  # not signed by the trader (or session key) it names
    EXPIRED = "expired"  # order, cancel or login at or past its expiry (an order: too near it)
    REPLAYED = "replayed"  # an order hash or login seen before
    UNKNOWN_MARKET = "unknown_market"
    UNKNOWN_ORDER = "unknown_order"  # no open order with this hash
    INSUFFICIENT_MARGIN = "insufficient_margin"  # the pre-trade risk check refused
    NONCE_CLOSED = "nonce_closed"  # the order's nonce is cancelled or below the floor on chain
    FEE_CAP_TOO_LOW = "fee_cap_too_low"  # maxFeePpm below the fee of a role the order can take
    MARGIN_MODE_CONFLICT = "margin_mode_conflict"  # marginMode differs from the market's position
    STALE_PRICE = "stale_price"  # a market of the account is stale: only reducing orders
    RATE_LIMITED = "rate_limited"  # too many requests per second (connection or account)
    NOT_LOGGED_IN = "not_logged_in"  # the request needs a login on this connection
    FORBIDDEN = "forbidden"  # signed by the wrong trader for this order or session
    REJECTED = "rejected"  # the matching engine refused; ``reason`` says why
    INVALID_LEVERAGE = "invalid_leverage"  # not a leverage, or above the market's maximum
    RESUME_TOO_OLD = "resume_too_old"  # fetch the account's events over HTTP, then resume
    UNAVAILABLE = "unavailable"  # the command could not be made durable now (cluster mode)
    INTERNAL = "internal"  # a gateway bug; the request had no effect


class ProtocolError(Exception):
    """A request is refused with ``code``; becomes an :class:`Error` frame."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        reason: str | None = None,
        request_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.request_id = request_id


class Channel(Enum):
    BOOK = "book"  # L2 snapshot, then book_update frames (per market)
    TRADES = "trades"  # trade frames (per market)
    ACCOUNT = "account"  # own orders, fills, positions and margin (needs a login)


class _Wire(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    pass


# -- signed messages ----------------------------------------------------------------------


class WireOrder(_Wire, omit_defaults=True):
    """The EIP-712 ``Order`` message. ``triggerPrice`` and ``triggerDirection`` are signed
    into every order; omitted they are 0 (a plain order), and a plain order is sent
    without them."""

    trader: str
    market: int
    is_buy: bool
    size: int
    limit_price: int
    max_fee_ppm: int
    margin_mode: int
    time_in_force: int
    reduce_only: bool
    expiry: int
    nonce: int
    trigger_price: int = 0
    trigger_direction: int = 0

    def to_order(self) -> Order:
        """Raises ValueError if a field is out of its signed type's range."""
        if not 0 <= self.margin_mode < len(MARGIN_MODE_CODES):
            raise ValueError(f"marginMode {self.margin_mode} is not a margin mode code")
        if not 0 <= self.time_in_force < len(TIME_IN_FORCE_CODES):
            raise ValueError(f"timeInForce {self.time_in_force} is not a time-in-force code")
        if self.trigger_direction not in _TRIGGER_DIRECTION_CODES:
            raise ValueError(f"triggerDirection {self.trigger_direction} is not a direction code")
        return Order(
            trader=Address(self.trader),
            market=MarketId(self.market),
            is_buy=self.is_buy,
            size=Size(self.size),
            limit_price=Price(self.limit_price),
            max_fee_ppm=FeePpm(self.max_fee_ppm),
            margin_mode=MARGIN_MODE_CODES[self.margin_mode],
            time_in_force=TIME_IN_FORCE_CODES[self.time_in_force],
            reduce_only=self.reduce_only,
            expiry=UnixTime(self.expiry),
            nonce=Nonce(self.nonce),
            trigger_price=Price(self.trigger_price),
            trigger_direction=TriggerDirection(self.trigger_direction),
        )

    @classmethod
    def of(cls, order: Order) -> WireOrder:
        return cls(
            trader=order.trader,
            market=order.market,
            is_buy=order.is_buy,
            size=order.size,
            limit_price=order.limit_price,
            max_fee_ppm=order.max_fee_ppm,
            margin_mode=margin_mode_code(order.margin_mode),
            time_in_force=time_in_force_code(order.time_in_force),
            reduce_only=order.reduce_only,
            expiry=order.expiry,
            nonce=order.nonce,
            trigger_price=order.trigger_price,
            trigger_direction=int(order.trigger_direction),
        )


class WireCancel(_Wire):
    """The EIP-712 ``Cancel`` message; ``orderHash`` is 0x-prefixed hex."""

    trader: str
    order_hash: str
    expiry: int

    def to_cancel(self) -> Cancel:
        return Cancel(
            trader=Address(self.trader),
            order_hash=parse_order_hash(self.order_hash),
            expiry=UnixTime(self.expiry),
        )

    @classmethod
    def of(cls, cancel: Cancel) -> WireCancel:
        return cls(trader=cancel.trader, order_hash=hex0x(cancel.order_hash), expiry=cancel.expiry)


class WireLogin(_Wire):
    """The EIP-712 ``Login`` message; ``sessionKey`` is the zero address for none."""

    trader: str
    session_key: str
    expiry: int
    nonce: int

    def to_login(self) -> Login:
        return Login(
            trader=Address(self.trader),
            session_key=Address(self.session_key),
            expiry=UnixTime(self.expiry),
            nonce=Nonce(self.nonce),
        )

    @classmethod
    def of(cls, login: Login) -> WireLogin:
        return cls(
            trader=login.trader,
            session_key=login.session_key,
            expiry=login.expiry,
            nonce=login.nonce,
        )


# -- requests (client to server) ----------------------------------------------------------


class _Request(_Wire, tag_field="op", kw_only=True):
    id: int | None = None  # echoed in the response


class LoginRequest(_Request, tag="login"):
    login: WireLogin
    signature: str
    cancel_on_disconnect: bool = False  # cancel every order of the trader when this drops


class PlaceRequest(_Request, tag="place"):
    order: WireOrder
    signature: str
    client_id: str | None = None  # idempotency key: the same (order, clientId) gets one ack


class CancelRequest(_Request, tag="cancel"):
    cancel: WireCancel
    signature: str


class CancelAllRequest(_Request, tag="cancel_all"):
    market: int | None = None  # None: every market


class AmendRequest(_Request, tag="amend"):
    """Replace the open order ``orderHash`` by ``order`` (same trader, market and side)."""

    order_hash: str
    order: WireOrder
    signature: str


class ScheduleCancelRequest(_Request, tag="schedule_cancel"):
    """Cancel all of the trader's orders unless sent again within ``timeoutMs`` (0: disarm)."""

    timeout_ms: int


class SetLeverageRequest(_Request, tag="set_leverage"):
    """Cap your leverage in ``market`` (needs the login); answered by a ``leverage`` frame."""

    market: int
    leverage: str  # a decimal string: "5", "12.5" (at most two decimals, 1 to the maximum)


class GetLeverageRequest(_Request, tag="get_leverage"):
    """Your leverage in ``market`` (needs the login); answered by a ``leverage`` frame."""

    market: int


class SubscribeRequest(_Request, tag="subscribe"):
    channel: Channel
    market: int | None = None  # book and trades: required
    after_seq: int | None = None  # account: resume, sending the events numbered above it


class UnsubscribeRequest(_Request, tag="unsubscribe"):
    channel: Channel
    market: int | None = None


Request = (
    LoginRequest
    | PlaceRequest
    | CancelRequest
    | CancelAllRequest
    | AmendRequest
    | ScheduleCancelRequest
    | SetLeverageRequest
    | GetLeverageRequest
    | SubscribeRequest
    | UnsubscribeRequest
)

_request_decoder: Final = msgspec.json.Decoder(Request | list[Request])


class _RequestId(msgspec.Struct):
    id: int | None = None


_request_id_decoder: Final = msgspec.json.Decoder(_RequestId)


def decode_frame(data: bytes | str) -> list[Request]:
    """The requests in one client frame; raises :class:`ProtocolError` (MALFORMED, TOO_LARGE).

    The error carries the request's ``id`` when a single malformed request still has one.
    """
    try:
        decoded = _request_decoder.decode(data)
    except msgspec.DecodeError as error:
        raise ProtocolError(ErrorCode.MALFORMED, str(error), request_id=_request_id(data)) from None
    if isinstance(decoded, list):
        if not decoded:  # nothing to answer would leave the client waiting for its timeout
            raise ProtocolError(ErrorCode.MALFORMED, "a batch holds at least one request")
        if len(decoded) > MAX_BATCH:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"a batch holds at most {MAX_BATCH} requests")
        return decoded
    return [decoded]


def _request_id(data: bytes | str) -> int | None:
    try:
        return _request_id_decoder.decode(data).id
    except msgspec.DecodeError:
        return None


# -- responses and events (server to client) ----------------------------------------------


class _Frame(_Wire, tag_field="type", omit_defaults=True, kw_only=True):
    pass


class Error(_Frame, tag="error"):
    code: ErrorCode
    message: str
    id: int | None = None
    reason: str | None = None  # with code "rejected": the engine's reject reason


class LoggedIn(_Frame, tag="logged_in"):
    trader: str
    expiry: int
    id: int | None = None


class Placed(_Frame, tag="placed"):
    """The engine accepted the order (it may have traded at once: see fill frames).

    ``applied`` false (cluster mode only): the order is durable in the command stream but
    the engine had not applied it within the gateway's wait: ``seq`` is 0, ``size`` the
    signed size, and the engine's verdict comes as account events (``order``)."""

    seq: int
    market: int
    order_id: int
    order_hash: str
    size: int  # accepted size: a reduce-only order may be clipped
    id: int | None = None
    client_id: str | None = None
    applied: bool = True
    receipt: bool = False  # a ``receipt`` frame of the order follows


class Amended(_Frame, tag="amended"):
    """``applied`` false: durable, not yet applied (see ``Placed``)."""

    seq: int
    market: int
    order_id: int
    order_hash: str  # the replacing order
    id: int | None = None
    applied: bool = True
    receipt: bool = False  # a ``receipt`` frame of the replacing order follows


class ReceiptIssued(_Frame, tag="receipt"):
    """The operator's signed receipt of your order (docs/checkpoints.md, "Receipts"): the
    order is the journal's entry ``seq``, stamped ``time``, and the chain head after it is
    ``head``. It follows the order's ``placed`` (or ``amended``) frame once the entry is
    durable and signed; keep it: checked against the published journal it proves an
    omission or a reordering, and against another receipt or a checkpoint, a lie."""

    receipt: WireReceipt


class Ack(_Frame, tag="ack"):
    """A cancel, cancel-all, schedule-cancel or unsubscribe took effect at ``seq``; a
    cancel-all's says how many orders it ``cancelled``. ``applied`` false: durable, not yet
    applied (see ``Placed``): ``seq`` and ``cancelled`` are 0."""

    seq: int
    id: int | None = None
    cancelled: int = 0
    applied: bool = True


class Leverage(_Frame, tag="leverage"):
    """Your leverage in ``market``: the pre-trade check values the market's requirements at
    ``max(initial margin fraction, 1 / leverage)``; ``chosen`` is false while you set none
    (then ``leverage`` is the market's maximum, ``1 / initial margin fraction``)."""

    market: int
    leverage: str  # decimal strings
    max_leverage: str
    chosen: bool
    id: int | None = None


class Subscribed(_Frame, tag="subscribed"):
    channel: Channel
    id: int | None = None
    market: int | None = None
    seq: int | None = None  # account: the last event numbered when the subscription began


Level = tuple[int, int]
"""``[price, size]``: the total open size at a price."""


class BookSnapshot(_Frame, tag="book"):
    """Every level of a market; ``seq`` is the last book update it includes."""

    market: int
    seq: int
    bids: list[Level]
    asks: list[Level]


class BookUpdate(_Frame, tag="book_update"):
    """Levels changed by one command; size 0 removes the level. ``seq`` is one more than
    the previous update of this market (a snapshot's ``seq`` included)."""

    market: int
    seq: int
    bids: list[Level]
    asks: list[Level]


class Trade(_Frame, tag="trade"):
    market: int
    seq: int  # the journal sequence number of the command that traded
    price: int
    size: int
    taker_is_buy: bool
    time: int = 0  # the command's stamp (Unix ms), as the tape's trades and candles use


class Fill(_Frame, tag="fill"):
    """One of your orders traded; ``maker`` tells on which side of the trade it was."""

    seq: int
    market: int
    order_id: int
    order_hash: str
    is_buy: bool
    price: int
    size: int
    maker: bool
    client_id: str | None = None
    account_seq: int = 0  # see AccountEvent


class FillRejected(_Frame, tag="fill_rejected"):
    """A fill of yours (its ``fill`` frame came earlier) will never settle: the chain refused
    it, or settlement left it out. ``reason`` is the contract's ``FillRejected`` reason or
    the batcher's (``MARGIN_CHECK_FAILED``, ...). Positions no longer count it, and the rest
    of the order(s) at fault for the reason is cancelled (``order`` frames with reason
    ``fill_rejected``); the innocent side's order keeps resting."""

    seq: int
    market: int
    order_hash: str
    is_buy: bool
    price: int
    size: int
    maker: bool
    reason: str
    order_id: int | None = None  # None: the order was not placed through this gateway
    client_id: str | None = None
    account_seq: int = 0  # see AccountEvent


class OrderStatus(Enum):
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    AMENDED = "amended"
    UNTRIGGERED = "untriggered"
    TRIGGERED = "triggered"


class OrderUpdate(_Frame, tag="order"):
    """``size`` of your order left the book without trading (``reason``: why); or, for a
    trigger order, ``untriggered``: accepted and held off the book until the index price
    crosses its trigger, ``triggered``: the index price ``indexPrice`` crossed it and
    ``size`` enters the book as a new order now (its fills and cancels follow)."""

    seq: int
    market: int
    order_id: int
    order_hash: str
    status: OrderStatus
    size: int
    reason: str | None = None
    client_id: str | None = None
    index_price: int | None = None  # triggered: the index price that released it
    account_seq: int = 0  # see AccountEvent


class Position(_Wire):
    market: int
    size: int  # signed, size units
    quote: int  # signed, collateral units
    isolated_margin: int = 0


class AccountUpdate(_Frame, tag="account"):
    """Positions and margin as the risk service sees them (collateral units)."""

    trader: str
    collateral: int
    equity: int
    initial_margin: int
    maintenance_margin: int
    positions: list[Position]


AccountEvent = Fill | OrderUpdate | FillRejected
"""A frame of an account's event log (``AccountLog``; every new account frame joins this
union and has ``account_seq``): ``accountSeq`` numbers the account's events 1, 2, 3, ...
without gaps, the same after any restart (it is derived from the journal), so a client
resumes after the last one it saw (``afterSeq``)."""


class OrderState(Enum):
    UNTRIGGERED = "untriggered"  # a trigger order held off the book
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class HistoricalOrder(_Wire, omit_defaults=True):
    """One order of an account's order history, as of the last durable command."""

    market: int
    order_id: int
    order_hash: str
    is_buy: bool
    price: int
    size: int  # the total signed size (an amend's new total)
    filled: int
    state: OrderState
    seq: int  # the journal seq of the command that placed it
    updated_seq: int  # ... that last changed it
    client_id: str | None = None
    trigger_price: int = 0  # a trigger order's (0: a plain order)
    trigger_direction: int = 0  # its ``TriggerDirection`` code
    filled_value: int = 0  # sum of price * size of its fills: the average is this / filled
    reason: str | None = None  # why it left the book (the last ``order`` frame's reason)


Frame = (
    Error
    | LoggedIn
    | Placed
    | Amended
    | ReceiptIssued
    | Ack
    | Leverage
    | Subscribed
    | BookSnapshot
    | BookUpdate
    | Trade
    | Fill
    | FillRejected
    | OrderUpdate
    | AccountUpdate
)

encode_frame: Final = msgspec.json.Encoder().encode

_frames_decoder: Final = msgspec.json.Decoder(Frame | list[Frame])


def decode_server_frames(data: bytes | str) -> list[Frame]:
    """The frames of one server message, in order (for clients and tests): the server sends
    one frame, or an array of the frames that became ready for the connection together."""
    decoded: Frame | list[Frame] = _frames_decoder.decode(data)
    return decoded if isinstance(decoded, list) else [decoded]


# -- field formats ------------------------------------------------------------------------


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


def parse_hex(text: str, length: int, what: str) -> bytes:
    """``0x``-prefixed hex of exactly ``length`` bytes; raises ValueError otherwise."""
    if not text.startswith("0x") or len(text) != 2 + 2 * length:
        raise ValueError(f"{what} must be 0x and {2 * length} hex digits")
    return bytes.fromhex(text[2:])


def parse_order_hash(text: str) -> OrderHash:
    return OrderHash(parse_hex(text, 32, "an order hash"))


def parse_signature(text: str) -> Signature:
    """``0x`` + r || s || v (65 bytes), as eth_signTypedData returns it."""
    return Signature.from_bytes(parse_hex(text, 65, "a signature"))


def parse_address(text: str) -> Address:
    """Any-case hex address -> checksummed (HTTP paths); raises ValueError."""
    return Address(to_checksum_address(parse_hex(text, 20, "an address")))


def parse_client_id(text: str | None) -> ClientOrderId | None:
    if text is not None and not 0 < len(text) <= MAX_CLIENT_ID_LENGTH:
        raise ValueError(f"clientId must be 1 to {MAX_CLIENT_ID_LENGTH} characters")
    return None if text is None else ClientOrderId(text)
