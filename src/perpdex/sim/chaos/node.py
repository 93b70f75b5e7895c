"""``perpdex up`` as a real subprocess against a chain it did not start, so that a SIGKILL
takes the node (and its signature workers) down while the chain and the deployment stay.

The node runs in its own process group: a kill reaches its worker processes too, and
nothing else. Its output goes to one log file per start (``node-<n>.log``), read for the
two lines the harness needs: the journal's path and the gateway's URL.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

STARTUP_TIMEOUT_S: Final = 120.0
"""A node on a busy two-core machine imports web3 and vyper's ABIs and replays its journal."""
STOP_GRACE_S: Final = 30.0
_JOURNAL = re.compile(r"^journal: (.+)$", re.MULTILINE)
_LISTENING = re.compile(r"gateway listening on (\S+);")


class NodeError(RuntimeError):
    """The node did not come up (its log's tail says why)."""


@dataclass
class NodeProcess:
    """``perpdex up --rpc-url ... --deployment ...``, started again after each kill."""

    rpc_url: str
    deployment: Path
    state_dir: Path
    logs: Path
    port: int
    extra: tuple[str, ...] = ()
    """More ``perpdex up`` options (keeper mode, price path, ...)."""
    http_port: int = 0
    """The HTTP API's, the same at every start (0: any free one each time)."""
    starts: int = 0
    journal: Path | None = None
    """As the last start printed it."""
    url: str | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the node and return once its gateway listens."""
        if self._process is not None:
            raise NodeError("the node is already running")
        self.starts += 1
        log_path = self.logs / f"node-{self.starts}.log"
        arguments = [
            sys.executable, "-m", "perpdex.cli.main", "up",
            "--rpc-url", self.rpc_url,
            "--deployment", str(self.deployment),
            "--out", str(self.logs / "served.json"),
            "--state-dir", str(self.state_dir),
            "--port", str(self.port),
            "--http-port", str(self.http_port),
            *self.extra,
        ]  # fmt: skip
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed by _end, after the process)
        self._process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._wait_until_listening(log_path)

    def kill(self) -> None:
        """SIGKILL the node's process group: no handler runs, nothing is flushed."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM (the node stops its services in order); SIGKILL after a grace period."""
        self._end(signal.SIGTERM)

    def _end(self, signum: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _wait_until_listening(self, log_path: Path) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            listening = _LISTENING.search(text)
            if listening is not None:
                journal = _JOURNAL.search(text)
                self.journal = None if journal is None else Path(journal.group(1))
                self.url = listening.group(1)
                return
            if self._process is None or self._process.poll() is not None:
                self._end(signal.SIGKILL)
                raise NodeError(f"perpdex up exited; its log ends with:\n{text[-4000:]}")
            time.sleep(0.1)
        self._end(signal.SIGKILL)
        raise NodeError(f"perpdex up did not listen within {STARTUP_TIMEOUT_S} s")
