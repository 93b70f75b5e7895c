"""Every service of cluster mode as its own OS process, restarted when it dies.

:class:`Supervisor` starts one process per :class:`ServiceSpec`, in the order given (the
engines before the gateways that publish to them), watches them, restarts one that exits
(after a back-off that grows while it keeps dying and resets once it has run a while) and
logs each restart with the exit status, and stops them in the reverse order: SIGTERM, then
SIGKILL for one that has not exited within the grace. Each process writes its output to a
log file of its own.

It is deliberately small and synchronous: it holds no state a service needs (each
restarts from the chain and the streams), so a supervisor that dies takes no data with it,
and an operator may replace it by systemd or Kubernetes units with the same command lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Final

log = logging.getLogger(__name__)

STOP_GRACE_S: Final = 10.0
FIRST_BACKOFF_S: Final = 0.5
MAX_BACKOFF_S: Final = 10.0
HEALTHY_AFTER_S: Final = 30.0
"""A process that ran this long before it died is restarted after the first back-off again."""


class ServiceState(StrEnum):
    RUNNING = "running"
    RESTARTING = "restarting"  # exited; started again once its back-off has passed
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service process: ``name`` is unique (``engine-0``, ``gateway-1``); ``shard`` the
    engine shard it serves, None for a service of every shard."""

    name: str
    role: str
    argv: tuple[str, ...]
    shard: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    role: str
    shard: int | None
    pid: int | None
    state: ServiceState
    restarts: int
    started_at: float | None
    """Wall-clock seconds of the running process's start."""


@dataclass(slots=True)
class _Service:
    spec: ServiceSpec
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    output: IO[bytes] | None = None
    state: ServiceState = ServiceState.STOPPED
    restarts: int = 0
    started: float = 0.0  # monotonic
    started_at: float | None = None
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float = 0.0  # monotonic


class Supervisor:
    """``with Supervisor(specs, log_dir) as s: while ...: s.poll()``."""

    def __init__(
        self,
        specs: Sequence[ServiceSpec],
        log_dir: Path,
        *,
        env: dict[str, str] | None = None,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"service names must be unique: {names}")
        log_dir.mkdir(parents=True, exist_ok=True)
        self._services = [_Service(spec, log_dir / f"{spec.name}.log") for spec in specs]
        self._env = env
        self._stop_grace_s = stop_grace_s

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        for service in self._services:
            self._spawn(service)

    def poll(self) -> None:
        """Restart every process that exited, once its back-off has passed."""
        now = time.monotonic()
        for service in self._services:
            process = service.process
            if service.state is ServiceState.RUNNING and process is not None:
                code = process.poll()
                if code is None:
                    continue
                self._exited(service, code, now)
            if service.state is ServiceState.RESTARTING and now >= service.restart_at:
                service.restarts += 1
                self._spawn(service)
                log.warning(
                    "service %s restarted (restart %d): pid %d, log %s",
                    service.spec.name,
                    service.restarts,
                    self._pid(service),
                    service.log_path,
                )

    def stop(self) -> None:
        """Stop every process, the last started first: SIGTERM, SIGKILL after the grace."""
        for service in reversed(self._services):
            process = service.process
            service.state = ServiceState.STOPPED
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(self._stop_grace_s)
                except subprocess.TimeoutExpired:
                    log.warning("service %s ignored SIGTERM: killed", service.spec.name)
                    process.kill()
                    process.wait()
            self._close_output(service)
            log.info("service %s stopped", service.spec.name)

    def kill(self, name: str) -> int:
        """SIGKILL the process of service ``name`` (a crash, for tests and drills); returns
        its pid. The next :meth:`poll` restarts it."""
        service = self._service(name)
        pid = self._pid(service)
        os.kill(pid, signal.SIGKILL)
        return pid

    def statuses(self) -> list[ServiceStatus]:
        return [
            ServiceStatus(
                name=s.spec.name,
                role=s.spec.role,
                shard=s.spec.shard,
                pid=s.process.pid if s.state is ServiceState.RUNNING and s.process else None,
                state=s.state,
                restarts=s.restarts,
                started_at=s.started_at if s.state is ServiceState.RUNNING else None,
            )
            for s in self._services
        ]

    def log_path(self, name: str) -> Path:
        return self._service(name).log_path

    def _spawn(self, service: _Service) -> None:
        self._close_output(service)
        service.output = service.log_path.open("ab")
        service.process = subprocess.Popen(
            service.spec.argv,
            stdin=subprocess.DEVNULL,
            stdout=service.output,
            stderr=subprocess.STDOUT,
            env=self._env,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops them in order
        )
        service.state = ServiceState.RUNNING
        service.started = time.monotonic()
        service.started_at = time.time()

    def _exited(self, service: _Service, code: int, now: float) -> None:
        if now - service.started >= HEALTHY_AFTER_S:
            service.backoff_s = FIRST_BACKOFF_S
        cause = f"signal {-code}" if code < 0 else f"exit status {code}"
        log.warning(
            "service %s (pid %d) died with %s; restarting in %.1f s (log %s)",
            service.spec.name,
            self._pid(service),
            cause,
            service.backoff_s,
            service.log_path,
        )
        service.state = ServiceState.RESTARTING
        service.restart_at = now + service.backoff_s
        service.backoff_s = min(service.backoff_s * 2, MAX_BACKOFF_S)

    def _service(self, name: str) -> _Service:
        for service in self._services:
            if service.spec.name == name:
                return service
        raise KeyError(f"no service {name!r}")

    @staticmethod
    def _pid(service: _Service) -> int:
        assert service.process is not None, "never started"
        return service.process.pid

    @staticmethod
    def _close_output(service: _Service) -> None:
        if service.output is not None:
            with contextlib.suppress(OSError):
                service.output.close()
            service.output = None
