"""The cluster supervisor on real processes: a killed service comes back with a new pid and
the restart is logged; stop ends them in the reverse order, SIGKILLing one that ignores
SIGTERM."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import pytest

from perpdex.cluster.supervisor import ServiceSpec, ServiceState, Supervisor

SLEEPER = (sys.executable, "-c", "import time; time.sleep(600)")
STUBBORN = (
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True);"
    " time.sleep(600)",
)


def until_state(supervisor: Supervisor, name: str, state: ServiceState) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        supervisor.poll()
        (status,) = [s for s in supervisor.statuses() if s.name == name]
        if status.state is state and (state is not ServiceState.RUNNING or status.restarts):
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {state}")


def test_a_killed_service_is_restarted_and_the_restart_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    specs = [
        ServiceSpec("engine-0", "engine", SLEEPER, shard=0),
        ServiceSpec("gateway-0", "gateway", SLEEPER),
    ]
    with Supervisor(specs, tmp_path) as supervisor, caplog.at_level(logging.WARNING):
        before = {s.name: s.pid for s in supervisor.statuses()}
        assert supervisor.kill("engine-0") == before["engine-0"]
        until_state(supervisor, "engine-0", ServiceState.RUNNING)
        after = {s.name: s for s in supervisor.statuses()}
        assert after["engine-0"].pid not in (None, before["engine-0"])
        assert after["engine-0"].restarts == 1
        assert after["gateway-0"].pid == before["gateway-0"]  # the others untouched
        assert after["gateway-0"].restarts == 0
    messages = [record.getMessage() for record in caplog.records]
    assert any("engine-0" in m and "died with signal 9" in m for m in messages)
    assert any("engine-0 restarted (restart 1)" in m for m in messages)
    assert all(s.state is ServiceState.STOPPED and s.pid is None for s in supervisor.statuses())


def test_stop_kills_a_service_that_ignores_sigterm(tmp_path: Path) -> None:
    supervisor = Supervisor([ServiceSpec("keeper", "keeper", STUBBORN)], tmp_path, stop_grace_s=0.5)
    supervisor.start()
    log_file = supervisor.log_path("keeper")
    deadline = time.monotonic() + 10
    while b"up" not in log_file.read_bytes():  # its handler is installed
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    supervisor.stop()
    assert 0.5 <= time.monotonic() - started < 5
    (status,) = supervisor.statuses()
    assert status.state is ServiceState.STOPPED


def test_service_names_are_unique(tmp_path: Path) -> None:
    twice = [ServiceSpec("engine-0", "engine", SLEEPER), ServiceSpec("engine-0", "engine", SLEEPER)]
    with pytest.raises(ValueError, match="unique"):
        Supervisor(twice, tmp_path)
