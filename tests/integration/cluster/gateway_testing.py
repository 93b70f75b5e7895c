"""Engine shard processes and gateway processes for the cluster gateway tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.integration.cluster.engine_testing import EngineProcess

from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.engine.codec import decode
from perpdex.engine.commands import Command

REPO = Path(__file__).resolve().parents[3]


@contextmanager
def engine_processes(
    deployment_file: Path, urls: list[str], layout: StreamLayout, logs: Path
) -> Iterator[list[EngineProcess]]:
    """``perpdex engine --shard K`` for every shard, serving; stopped (SIGTERM) at exit."""
    engines: list[EngineProcess] = []
    try:
        for shard in layout.all_shards:
            engines.append(
                EngineProcess(deployment_file, urls, layout, shard, logs / f"engine-{shard}.log")
            )
        for engine in engines:
            engine.wait_serving()
        yield engines
    finally:
        for engine in engines:
            engine.stop()


def journaled(urls: list[str], layout: StreamLayout, shard: ShardId) -> list[Command]:
    """Every command in the shard's journal stream, in order (the chain checked)."""
    journal = JetStreamJournal(urls, layout, shard)
    try:
        return [decode(item.entry)[2] for item in journal.read()]
    finally:
        journal.close()


class GatewayProcesses:
    """``perpdex gateway`` processes (or ``perpdex reader`` ones), each on a port of its
    own; killed at exit."""

    def __init__(
        self,
        deployment_file: Path,
        urls: list[str],
        layout: StreamLayout,
        logs: Path,
        command: str = "gateway",
    ) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "perpdex.cli.main",
            command,
            "--deployment",
            str(deployment_file),
            "--nats",
            ",".join(urls),
            "--shards",
            str(layout.shards),
            "--replicas",
            str(layout.replicas),
            "--prefix",
            layout.prefix,
            *(("--verify-workers", "0") if command == "gateway" else ()),
        ]
        self._logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, port: int, *extra: str) -> str:
        """The process ``name`` on ``port`` (``extra``: more options), once it listens; the
        URL a gateway serves there."""
        log = open(self._logs / f"{name}.log", "ab")  # noqa: SIM115 - the process holds it
        self.processes[name] = subprocess.Popen(
            [*self._argv, "--name", name, "--port", str(port), *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
        deadline = time.monotonic() + 180  # a loaded 2-core machine starts it slowly
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited: see {self._logs / f'{name}.log'}")
            try:  # the port is bound once the replicas caught up and the chain is folded
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return f"ws://127.0.0.1:{port}"
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} not serving: see {self._logs / f'{name}.log'}")

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.kill()
        process.wait()

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def __iter__(self) -> Iterator[str]:
        return iter(self.processes)
