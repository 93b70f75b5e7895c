"""The gateway's error frames as typed exceptions, one class per ``ErrorCode``.

``except InsufficientMarginError`` reads better than comparing codes, and every class is
still a :class:`GatewayError` carrying the frame's ``code``, ``message`` and ``reason``.
"""

from __future__ import annotations

from perpdex.gateway.protocol import Error, ErrorCode
from perpdex.sdk.errors import SdkError


class GatewayError(SdkError):
    """The gateway refused a request; the request had no effect."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(f"{message} ({reason})" if reason else message)
        self.message = message
        self.reason = reason


class MalformedRequestError(GatewayError):
    code = ErrorCode.MALFORMED


class RequestTooLargeError(GatewayError):
    code = ErrorCode.TOO_LARGE


class BadSignatureError(GatewayError):
    code = ErrorCode.BAD_SIGNATURE


class ExpiredError(GatewayError):
    code = ErrorCode.EXPIRED


class ReplayedError(GatewayError):
    code = ErrorCode.REPLAYED


class GatewayUnknownMarketError(GatewayError):
    code = ErrorCode.UNKNOWN_MARKET


class UnknownOrderError(GatewayError):
    code = ErrorCode.UNKNOWN_ORDER


class InsufficientMarginError(GatewayError):
    code = ErrorCode.INSUFFICIENT_MARGIN


class NonceClosedError(GatewayError):
    """The order's nonce is closed on chain (cancelled, or below the trader's nonce floor)."""

    code = ErrorCode.NONCE_CLOSED


class FeeCapTooLowError(GatewayError):
    """The order's ``maxFeePpm`` is below the market's fee for a role it can take."""

    code = ErrorCode.FEE_CAP_TOO_LOW


class MarginModeConflictError(GatewayError):
    """The order's margin mode differs from the trader's position (or open orders) in the
    market; the message says which mode that is."""

    code = ErrorCode.MARGIN_MODE_CONFLICT


class StalePriceError(GatewayError):
    """A market the account holds a position in has a stale price: only orders that
    reduce a position are taken until it is fresh."""

    code = ErrorCode.STALE_PRICE


class RateLimitedError(GatewayError):
    code = ErrorCode.RATE_LIMITED


class NotLoggedInError(GatewayError):
    code = ErrorCode.NOT_LOGGED_IN


class ForbiddenError(GatewayError):
    code = ErrorCode.FORBIDDEN


class OrderRejectedError(GatewayError):
    """The matching engine refused the order; ``reason`` is the engine's reject reason."""

    code = ErrorCode.REJECTED


class InvalidLeverageError(GatewayError):
    """Not a leverage (a decimal of at least 1 with at most two decimals), or above the
    market's maximum; the setting did not change."""

    code = ErrorCode.INVALID_LEVERAGE


class ResumeTooOldError(GatewayError):
    """An account subscription asked to resume further back than the gateway replays over
    WebSocket: the client reads the missed events over HTTP first (the SDK does)."""

    code = ErrorCode.RESUME_TOO_OLD


class CommandUnavailableError(GatewayError):
    """The gateway could not make the command durable now (cluster mode: JetStream had no
    quorum or no server): it was not taken. Send it again later; an order sent again with
    the same ``client_id`` is placed at most once."""

    code = ErrorCode.UNAVAILABLE


class GatewayInternalError(GatewayError):
    code = ErrorCode.INTERNAL


_BY_CODE: dict[ErrorCode, type[GatewayError]] = {
    cls.code: cls for cls in GatewayError.__subclasses__()
}


def gateway_error(frame: Error) -> GatewayError:
    """The exception for an error frame (a code this SDK does not know is a GatewayError)."""
    return _BY_CODE.get(frame.code, GatewayError)(frame.message, frame.reason)


class ConnectionLostError(SdkError, ConnectionError):
    """The connection dropped while a request was in flight: it may or may not have taken
    effect (an order placed with a ``client_id`` can be sent again safely)."""


class GatewayUnavailableError(SdkError, ConnectionError):
    """No gateway answered at the URL within the timeout."""
