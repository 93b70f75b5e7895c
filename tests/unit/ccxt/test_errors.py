"""perpdex's errors leave the unified client as ccxt's classes, in ccxt's hierarchy."""

from __future__ import annotations

import pytest

from perpdex.ccxt import errors as ccxt
from perpdex.ccxt.error_map import BY_CODE, translated
from perpdex.gateway.protocol import Error, ErrorCode
from perpdex.sdk.amounts import OffGridError
from perpdex.sdk.errors import ChainUnavailableError, UnknownMarketError
from perpdex.sdk.gateway_errors import ConnectionLostError, gateway_error


def test_the_hierarchy_is_ccxts() -> None:
    assert issubclass(ccxt.OrderNotFound, ccxt.InvalidOrder)
    assert issubclass(ccxt.InvalidOrder, ccxt.ExchangeError)
    assert issubclass(ccxt.InsufficientFunds, ccxt.ExchangeError)
    assert issubclass(ccxt.BadSymbol, ccxt.BadRequest)
    assert issubclass(ccxt.RateLimitExceeded, ccxt.NetworkError)
    assert issubclass(ccxt.NetworkError, ccxt.OperationFailed)
    assert not issubclass(ccxt.NetworkError, ccxt.ExchangeError)
    assert issubclass(ccxt.OperationFailed, ccxt.BaseError)
    assert issubclass(ccxt.MarginModeAlreadySet, ccxt.OperationRejected)


def test_every_gateway_code_has_a_class() -> None:
    assert set(BY_CODE) == set(ErrorCode)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            gateway_error(Error(code=ErrorCode.INSUFFICIENT_MARGIN, message="m")),
            ccxt.InsufficientFunds,
        ),
        (gateway_error(Error(code=ErrorCode.UNKNOWN_ORDER, message="m")), ccxt.OrderNotFound),
        (gateway_error(Error(code=ErrorCode.RATE_LIMITED, message="m")), ccxt.RateLimitExceeded),
        (
            gateway_error(
                Error(code=ErrorCode.REJECTED, message="m", reason="post_only_would_cross")
            ),
            ccxt.OrderImmediatelyFillable,
        ),
        (
            gateway_error(Error(code=ErrorCode.REJECTED, message="m", reason="bad_tick")),
            ccxt.InvalidOrder,
        ),
        (ConnectionLostError("dropped"), ccxt.RequestTimeout),
        (ChainUnavailableError("down"), ccxt.ExchangeNotAvailable),
        (UnknownMarketError("no"), ccxt.BadSymbol),
        (OffGridError("lot"), ccxt.InvalidOrder),
    ],
)
def test_sdk_errors_map(error: Exception, expected: type[ccxt.BaseError]) -> None:
    with pytest.raises(expected) as raised, translated(bad_value=ccxt.InvalidOrder):
        raise error
    assert raised.value.__cause__ is error
    assert str(raised.value) == str(error)


def test_other_errors_pass_through() -> None:
    with pytest.raises(ZeroDivisionError), translated():
        raise ZeroDivisionError
