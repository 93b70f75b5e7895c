"""Operator logs: timestamped (UTC), leveled, as text or one JSON object a line, and
failures of a retrying loop reported once with their cause (then their recovery).

    configure_logging("info", "json")        # what `perpdex --log-level/--log-format` set
    log.warning("fill rejected", extra={"reason": "fee_above_max"})  # extras become fields

    except Exception as error:               # in a loop that retries
        report_failure(log, self, "settlement round", error)
    ...
    report_recovery(log, self, "settlement round")

Only perpdex's loggers follow the level; other libraries' (web3, websockets, asyncio)
show warnings and errors, so ``debug`` does not drown the node's own lines in theirs.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]
LEVELS = ("debug", "info", "warning", "error")
FORMATS: tuple[LogFormat, ...] = ("text", "json")

REMIND_AFTER_S = 60.0
"""A failure that goes on is logged again after this long (with its count so far)."""

# what every LogRecord has; anything else on a record came from ``extra=`` and is a field
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}


class TextFormatter(logging.Formatter):
    """``2026-12-02T14:03:11.123Z WARNING perpdex.settlement.batcher: message key=value``"""

    def format(self, record: logging.LogRecord) -> str:
        fields = "".join(f" {k}={v}" for k, v in _fields(record).items())
        line = (
            f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}{fields}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``message``, the record's
    extra fields, and ``exception`` (the formatted traceback) if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Threshold(logging.Filter):
    """perpdex's records from ``level`` up, other libraries' from warning up."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == "perpdex" or record.name.startswith("perpdex.")
        return record.levelno >= (self.level if ours else logging.WARNING)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a line is logged (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_handler = _StderrHandler()


def configure_logging(level: str = "info", fmt: LogFormat = "text") -> None:
    """Log to stderr in ``fmt``: perpdex's loggers from ``level`` up, other libraries' from
    warning up. Calling it again replaces the format and level (one handler, on the root
    logger beside any other, such as a test runner's)."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: one of {', '.join(LEVELS)}")
    threshold = logging.getLevelName(level.upper())
    _handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for old in _handler.filters[:]:
        _handler.removeFilter(old)
    _handler.addFilter(_Threshold(threshold))
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)
    ours = logging.getLogger("perpdex")
    if ours.getEffectiveLevel() > threshold:  # let the records be made; the filter decides
        ours.setLevel(threshold)


@dataclass(slots=True)
class _Failing:
    count: int
    since: float
    logged_at: float
    cause: str


# (owner, what) -> the failure under way; weak: a stopped service takes its entries along
_failing: weakref.WeakKeyDictionary[object, dict[str, _Failing]] = weakref.WeakKeyDictionary()


def report_failure(log: logging.Logger, owner: object, what: str, error: BaseException) -> None:
    """Log that ``owner``'s ``what`` failed, with its cause: the first failure as an error
    (with the traceback unless it is an I/O error such as an unreachable RPC node), then
    again only when the cause changes or every :data:`REMIND_AFTER_S` seconds."""
    now = time.monotonic()
    cause = f"{type(error).__name__}: {error}"
    failing = _failing.setdefault(owner, {})
    state = failing.get(what)
    if state is None:
        failing[what] = _Failing(1, now, now, cause)
        trace = None if isinstance(error, OSError) else error
        log.error("%s failed: %s; retrying", what, cause, exc_info=trace)
        return
    state.count += 1
    if cause != state.cause or now - state.logged_at >= REMIND_AFTER_S:
        state.cause, state.logged_at = cause, now
        log.error(
            "%s still failing (%d times in %.0f s): %s", what, state.count, now - state.since, cause
        )


def report_recovery(log: logging.Logger, owner: object, what: str) -> None:
    """After :func:`report_failure`: log that ``what`` works again (nothing otherwise)."""
    state = _failing.get(owner, {}).pop(what, None)
    if state is not None:  # a warning: whoever sees the error at that level sees this too
        took = time.monotonic() - state.since
        log.warning("%s recovered after %d failures in %.1f s", what, state.count, took)
