"""Errors as JSON ``{"code": ..., "message": ...}``: 4xx for what the request got wrong,
nothing it can send makes a 5xx (``tests/integration/http/test_schema.py`` fuzzes that).

The codes are the WebSocket protocol's (:class:`~perpdex.gateway.protocol.ErrorCode`)
where one fits, so the SDK raises the same typed error for a read as for a request; the
HTTP API adds ``not_found`` (no such route or resource); ``unavailable`` is a service the
read needs restarting (503, not the request's fault), and ``journal_broken`` a stored
journal entry that fails its hash chain (500: the operator's fault, told to the auditor).
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from perpdex.engine.errors import JournalError
from perpdex.gateway.protocol import ErrorCode


class ApiErrorCode(StrEnum):
    MALFORMED = ErrorCode.MALFORMED.value
    UNKNOWN_MARKET = ErrorCode.UNKNOWN_MARKET.value
    UNKNOWN_ORDER = ErrorCode.UNKNOWN_ORDER.value
    UNAVAILABLE = ErrorCode.UNAVAILABLE.value
    NOT_FOUND = "not_found"
    JOURNAL_BROKEN = "journal_broken"


class ApiErrorBody(BaseModel):
    code: ApiErrorCode
    message: str


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, code: ApiErrorCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def malformed(message: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, ApiErrorCode.MALFORMED, message)


def not_found(code: ApiErrorCode, message: str) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, code, message)


def unavailable(what: str) -> ApiError:
    return ApiError(
        HTTPStatus.SERVICE_UNAVAILABLE, ApiErrorCode.UNAVAILABLE, f"{what} is restarting"
    )


def journal_broken(error: JournalError) -> ApiError:
    return ApiError(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        ApiErrorCode.JOURNAL_BROKEN,
        f"the stored journal breaks its hash chain at seq {error.seq}: {error.detail}",
    )


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ApiErrorBody, "description": description}
    for status, description in (
        (400, "a malformed parameter"),
        (404, "no such market, order or resource"),
        (422, "a parameter of the wrong type"),
        (503, "a service the read needs is restarting"),
    )
}
"""The error replies every route may give, for the OpenAPI document."""

JOURNAL_BROKEN_RESPONSE: dict[int | str, dict[str, object]] = {
    500: {"model": ApiErrorBody, "description": "the stored journal breaks its hash chain"}
}
"""``/journal``'s own: the page it was asked for starts at a broken entry."""


def install(app: FastAPI) -> None:
    """Answer every error in the one JSON shape."""
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]


def _reply(status: int, code: ApiErrorCode, message: str) -> JSONResponse:
    return JSONResponse({"code": code.value, "message": message}, status_code=status)


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return _reply(error.status, error.code, error.message)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors()
    )
    return _reply(HTTPStatus.UNPROCESSABLE_ENTITY, ApiErrorCode.MALFORMED, problems)


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    # the framework's own: an unknown route (404), a method a route does not take (405)
    code = ApiErrorCode.NOT_FOUND if error.status_code == 404 else ApiErrorCode.MALFORMED
    return _reply(error.status_code, code, str(error.detail))
