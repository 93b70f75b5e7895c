"""perpdex's SDK errors as ccxt's classes: one table per error family, read by
:func:`translated`, the context every unified method runs in.

The original exception stays as ``__cause__`` (its ``code`` and ``reason`` included), and
the message is the SDK's one line, so nothing a trader could act on is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from perpdex.ccxt import errors as ccxt
from perpdex.core.units import InexactConversionError, MalformedDecimalError
from perpdex.engine.errors import RejectReason
from perpdex.gateway.protocol import ErrorCode
from perpdex.sdk.amounts import AmountError
from perpdex.sdk.errors import (
    ChainRevertError,
    ChainUnavailableError,
    InsufficientFundsError,
    InvalidKeyError,
    SdkError,
    UnknownMarketError,
)
from perpdex.sdk.gateway_errors import (
    ConnectionLostError,
    GatewayError,
    GatewayUnavailableError,
)
from perpdex.sdk.margin import (
    CrossMarginTooLowError,
    IsolatedMarginTooLowError,
    MarginStalePriceError,
    NoIsolatedPositionError,
)

BY_CODE: dict[ErrorCode, type[ccxt.BaseError]] = {
    ErrorCode.MALFORMED: ccxt.BadRequest,
    ErrorCode.TOO_LARGE: ccxt.BadRequest,
    ErrorCode.BAD_SIGNATURE: ccxt.AuthenticationError,
    ErrorCode.EXPIRED: ccxt.InvalidOrder,
    ErrorCode.REPLAYED: ccxt.DuplicateOrderId,
    ErrorCode.UNKNOWN_MARKET: ccxt.BadSymbol,
    ErrorCode.UNKNOWN_ORDER: ccxt.OrderNotFound,
    ErrorCode.INSUFFICIENT_MARGIN: ccxt.InsufficientFunds,
    ErrorCode.NONCE_CLOSED: ccxt.InvalidNonce,
    ErrorCode.FEE_CAP_TOO_LOW: ccxt.InvalidOrder,
    ErrorCode.MARGIN_MODE_CONFLICT: ccxt.InvalidOrder,
    ErrorCode.STALE_PRICE: ccxt.OperationRejected,  # only reducing orders until fresh
    ErrorCode.RATE_LIMITED: ccxt.RateLimitExceeded,
    ErrorCode.NOT_LOGGED_IN: ccxt.AuthenticationError,
    ErrorCode.FORBIDDEN: ccxt.PermissionDenied,
    ErrorCode.REJECTED: ccxt.InvalidOrder,
    ErrorCode.INVALID_LEVERAGE: ccxt.BadRequest,  # not a leverage, or above the maximum
    ErrorCode.RESUME_TOO_OLD: ccxt.NetworkError,  # the SDK handles it; never reaches a bot
    ErrorCode.UNAVAILABLE: ccxt.ExchangeNotAvailable,  # not taken: send it again later
    ErrorCode.INTERNAL: ccxt.ExchangeError,
}
"""A gateway error frame's code -> ccxt class (every code has a row: see the unit test)."""

BY_REJECT_REASON: dict[str, type[ccxt.BaseError]] = {
    RejectReason.POST_ONLY_WOULD_CROSS.value: ccxt.OrderImmediatelyFillable,
    RejectReason.FOK_NOT_FILLABLE.value: ccxt.OrderNotFillable,
    RejectReason.DUPLICATE_ORDER_ID.value: ccxt.DuplicateOrderId,
    RejectReason.DUPLICATE_CLIENT_ORDER_ID.value: ccxt.DuplicateOrderId,
    RejectReason.UNKNOWN_ORDER.value: ccxt.OrderNotFound,
    RejectReason.UNKNOWN_MARKET.value: ccxt.BadSymbol,
}
"""The engine's reject reasons more precise than InvalidOrder."""


def ccxt_error(error: Exception, *, bad_value: type[ccxt.BaseError]) -> ccxt.BaseError | None:
    """The ccxt exception for an SDK error (None: not one of perpdex's, let it through).
    ``bad_value`` is the class of an amount the SDK could not use: InvalidOrder for an
    order's terms, BadRequest for a transfer."""
    message = str(error)
    kind: type[ccxt.BaseError] | None
    match error:
        case GatewayError():
            kind = BY_CODE.get(error.code, ccxt.ExchangeError)
            if error.code is ErrorCode.REJECTED and error.reason is not None:
                kind = BY_REJECT_REASON.get(error.reason, kind)
        case ConnectionLostError():
            kind = ccxt.RequestTimeout  # in flight when it dropped: maybe done, maybe not
        case GatewayUnavailableError() | ChainUnavailableError():
            kind = ccxt.ExchangeNotAvailable
        case UnknownMarketError():
            kind = ccxt.BadSymbol
        case InvalidKeyError():
            kind = ccxt.AuthenticationError
        case InsufficientFundsError() | CrossMarginTooLowError() | IsolatedMarginTooLowError():
            kind = ccxt.InsufficientFunds
        case NoIsolatedPositionError():
            kind = ccxt.BadRequest  # add or reduce margin of a position that is not isolated
        case MarginStalePriceError():
            kind = ccxt.OperationRejected
        case ChainRevertError():
            kind = ccxt.ExchangeError
        case SdkError():
            kind = ccxt.ExchangeError
        case AmountError() | InexactConversionError() | MalformedDecimalError():
            kind = bad_value
        case _:
            kind = None
    return None if kind is None else kind(message)


@contextmanager
def translated(*, bad_value: type[ccxt.BaseError] = ccxt.BadRequest) -> Iterator[None]:
    """Run a unified method: perpdex's errors leave it as ccxt's."""
    try:
        yield
    except ccxt.BaseError:
        raise
    except Exception as error:
        mapped = ccxt_error(error, bad_value=bad_value)
        if mapped is None:
            raise
        raise mapped from error
