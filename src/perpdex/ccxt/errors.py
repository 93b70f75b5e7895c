"""ccxt's exception classes, by the same names and in the same hierarchy (ccxt 4.5's
``errorHierarchy``), so a bot's ``except ccxt.InsufficientFunds`` keeps its meaning after
``import perpdex.ccxt as ccxt``; ccxt itself is not a dependency.

Which perpdex error becomes which class is decided in :mod:`perpdex.ccxt.error_map`.
"""

from __future__ import annotations


class BaseError(Exception):
    """Every error the unified client raises."""


class ExchangeError(BaseError):
    """The exchange refused the request (it had no effect)."""


class AuthenticationError(ExchangeError):
    """No key, a bad key, or a signature the gateway does not accept."""


class PermissionDenied(AuthenticationError):
    pass


class AccountNotEnabled(PermissionDenied):
    pass


class AccountSuspended(AuthenticationError):
    pass


class ArgumentsRequired(ExchangeError):
    """A method was called without an argument perpdex needs (e.g. the symbol)."""


class BadRequest(ExchangeError):
    """A malformed request or an argument perpdex cannot use."""


class BadSymbol(BadRequest):
    """No market with this symbol."""


class OperationRejected(ExchangeError):
    pass


class NoChange(OperationRejected):
    pass


class MarginModeAlreadySet(NoChange):
    pass


class MarketClosed(OperationRejected):
    pass


class ManualInteractionNeeded(OperationRejected):
    pass


class RestrictedLocation(OperationRejected):
    pass


class InsufficientFunds(ExchangeError):
    """Not enough margin (or wallet balance) for the order or transfer."""


class InvalidAddress(ExchangeError):
    pass


class AddressPending(InvalidAddress):
    pass


class InvalidOrder(ExchangeError):
    """The order's terms are refused (off the tick or lot grid, expired, rejected by the
    matching engine, ...)."""


class OrderNotFound(InvalidOrder):
    pass


class OrderNotCached(InvalidOrder):
    pass


class OrderImmediatelyFillable(InvalidOrder):
    """A post-only order would have crossed the book."""


class OrderNotFillable(InvalidOrder):
    pass


class DuplicateOrderId(InvalidOrder):
    pass


class ContractUnavailable(InvalidOrder):
    pass


class NotSupported(ExchangeError):
    """perpdex has no such feature (the ``has`` map says False)."""


class InvalidProxySettings(ExchangeError):
    pass


class ExchangeClosedByUser(ExchangeError):
    """The client was closed."""


class OperationFailed(BaseError):
    """The request may be retried: it failed on the way, not on its merits."""


class NetworkError(OperationFailed):
    pass


class DDoSProtection(NetworkError):
    pass


class RateLimitExceeded(NetworkError):
    pass


class ExchangeNotAvailable(NetworkError):
    """The gateway or the chain node does not answer."""


class OnMaintenance(ExchangeNotAvailable):
    pass


class InvalidNonce(NetworkError):
    """The order's nonce is closed on chain, or its hash was seen before."""


class ChecksumError(InvalidNonce):
    pass


class RequestTimeout(NetworkError):
    """No answer in time: the request may or may not have taken effect."""


class BadResponse(OperationFailed):
    pass


class NullResponse(BadResponse):
    pass


class CancelPending(OperationFailed):
    pass


class UnsubscribeError(BaseError):
    pass


__all__ = [
    "AccountNotEnabled",
    "AccountSuspended",
    "AddressPending",
    "ArgumentsRequired",
    "AuthenticationError",
    "BadRequest",
    "BadResponse",
    "BadSymbol",
    "BaseError",
    "CancelPending",
    "ChecksumError",
    "ContractUnavailable",
    "DDoSProtection",
    "DuplicateOrderId",
    "ExchangeClosedByUser",
    "ExchangeError",
    "ExchangeNotAvailable",
    "InsufficientFunds",
    "InvalidAddress",
    "InvalidNonce",
    "InvalidOrder",
    "InvalidProxySettings",
    "ManualInteractionNeeded",
    "MarginModeAlreadySet",
    "MarketClosed",
    "NetworkError",
    "NoChange",
    "NotSupported",
    "NullResponse",
    "OnMaintenance",
    "OperationFailed",
    "OperationRejected",
    "OrderImmediatelyFillable",
    "OrderNotCached",
    "OrderNotFillable",
    "OrderNotFound",
    "PermissionDenied",
    "RateLimitExceeded",
    "RequestTimeout",
    "RestrictedLocation",
    "UnsubscribeError",
]
