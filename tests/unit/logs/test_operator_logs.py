"""perpdex.logs and the CLI's --log-level/--log-format: timestamped, leveled, text or JSON
lines, and a retrying loop's failure reported once with its cause."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest

from perpdex import logs
from perpdex.bench import workload
from perpdex.cli.main import main
from perpdex.logs import configure_logging, report_failure, report_recovery

TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING perpdex\.settlement\.test: "
    r"fill rejected \(fee_above_max\) market=1$"
)
log = logging.getLogger("perpdex.settlement.test")


@pytest.fixture(autouse=True)
def default_config() -> Iterator[None]:
    yield
    configure_logging("warning", "text")


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_text_lines_carry_a_utc_timestamp_level_logger_and_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "text")
    log.warning("fill rejected (%s)", "fee_above_max", extra={"market": 1})
    assert [line for line in lines(capsys) if TEXT_LINE.match(line)] != []


def test_json_lines_are_one_object_each_with_fields_and_exception(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "json")
    log.warning("fill rejected (%s)", "fee_above_max", extra={"market": 1, "size": 10})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("round failed")
    first, second = (json.loads(line) for line in lines(capsys))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first.pop("ts"))
    assert first == {
        "level": "warning",
        "logger": "perpdex.settlement.test",
        "message": "fill rejected (fee_above_max)",
        "market": 1,
        "size": 10,
    }
    assert second["level"] == "error" and "ValueError: boom" in second["exception"]


def test_level_applies_to_perpdex_and_other_libraries_stay_at_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = logging.getLogger("web3.providers.test")
    configure_logging("warning", "text")
    log.info("hidden")
    log.warning("shown")
    configure_logging("debug", "text")
    log.debug("details")
    other.setLevel(logging.DEBUG)
    other.info("a library's chatter")
    other.warning("a library's warning")
    printed = "\n".join(lines(capsys))
    assert "hidden" not in printed and "chatter" not in printed
    for expected in ("shown", "details", "a library's warning"):
        assert expected in printed


def test_unknown_level_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="one of debug, info, warning, error"):
        configure_logging("loud")
    with pytest.raises(SystemExit) as exited:
        main(["up", "--log-level", "loud"])
    assert exited.value.code == 2
    assert "invalid choice: 'loud'" in capsys.readouterr().err


def test_every_command_and_subcommand_takes_the_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "gen-orders", "--n", "1", "--log-level", "debug", "--log-format", "json"]
    assert main(argv) == 0
    log.debug("after the command")
    (line,) = lines(capsys)
    assert json.loads(line)["message"] == "after the command"


@pytest.mark.parametrize("own", [None, "info"])
def test_a_subcommand_s_own_log_level_is_its_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, own: str | None
) -> None:
    if own is not None:  # as `perpdex cluster up` declares info, to show what it runs
        monkeypatch.setattr(workload, "LOG_LEVEL", own, raising=False)
    assert main(["bench", "gen-orders", "--n", "1"]) == 0
    log.info("after the command")
    shown = any("after the command" in line for line in lines(capsys))
    assert shown is (own == "info")  # else the default, warning


class Loop:
    """A service whose loop retries (the owner of its failures)."""


def test_a_failure_is_logged_once_with_its_cause_then_its_recovery(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="perpdex")
    loop, clock = Loop(), [100.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: clock[0])
    refused = ConnectionRefusedError(111, "Connection refused")
    report_recovery(log, loop, "settlement round")  # nothing failed: nothing to say
    for _ in range(50):
        report_failure(log, loop, "settlement round", refused)
        clock[0] += 0.2
    clock[0] += logs.REMIND_AFTER_S
    report_failure(log, loop, "settlement round", refused)  # a minute on: a reminder
    report_failure(log, loop, "settlement round", ValueError("bad reply"))  # a new cause
    report_recovery(log, loop, "settlement round")
    report_recovery(log, loop, "settlement round")

    said = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert said == [
        ("ERROR", "settlement round failed: ConnectionRefusedError: [Errno 111] "
         "Connection refused; retrying", False),
        ("ERROR", "settlement round still failing (51 times in 70 s): ConnectionRefusedError: "
         "[Errno 111] Connection refused", False),
        ("ERROR", "settlement round still failing (52 times in 70 s): ValueError: bad reply",
         False),
        ("WARNING", "settlement round recovered after 52 failures in 70.0 s", False),
    ]  # fmt: skip


def test_an_unexpected_failure_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop()
    report_failure(log, loop, "position manager sync", KeyError("market 7"))
    (record,) = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_failures_of_two_services_are_their_own(caplog: pytest.LogCaptureFixture) -> None:
    first, second = Loop(), Loop()
    report_failure(log, first, "sync", OSError("down"))
    report_failure(log, second, "sync", OSError("down"))
    report_recovery(log, first, "sync")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["sync failed: OSError: down; retrying"] * 2 + [
        "sync recovered after 1 failures in 0.0 s"
    ]
