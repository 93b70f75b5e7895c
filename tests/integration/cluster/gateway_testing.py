"""Engine shards and gateway processes for the cluster gateway tests.

``ShardEngine`` runs one engine shard as the engine process does it, in a thread of the
test: the shard's commands read from the command stream in order, each new order numbered
by its stream sequence (``with_order_id``), sequenced and journaled on the shard's journal
stream, one group commit per batch read.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from perpdex.chain.deployment import Deployment
from perpdex.cluster.commands import decode_command, with_order_id
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_streams
from perpdex.cluster.transport import UNAVAILABLE, connect
from perpdex.engine.clock import WallClock
from perpdex.engine.codec import decode
from perpdex.engine.commands import Command
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.sequencer import Sequencer

REPO = Path(__file__).resolve().parents[3]


class ShardEngine:
    def __init__(
        self, urls: list[str], layout: StreamLayout, shard: ShardId, deployment: Deployment
    ) -> None:
        self.urls = urls
        self.layout = layout
        self.shard = shard
        markets = [
            MarketConfig(m.id, m.tick_size, m.lot_size)
            for m in deployment.markets
            if layout.shard_of(m.id) == shard
        ]
        self.journal = JetStreamJournal(urls, layout, shard)
        self.sequencer = Sequencer(Engine(markets), WallClock(), self.journal)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> ShardEngine:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.journal.close()

    async def _run(self) -> None:
        nc = await connect(self.urls, name=f"test-engine-{self.shard}")
        js = nc.jetstream()
        await ensure_streams(js, self.layout)
        subscription = None
        last = 0  # the stream sequence of the last command sequenced
        while not self._stop.is_set():
            try:
                if subscription is None:
                    config = ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                        opt_start_seq=last + 1,
                        ack_policy=AckPolicy.NONE,
                        mem_storage=True,
                        inactive_threshold=5.0,
                    )
                    subscription = await js.pull_subscribe(
                        self.layout.command_subject(self.shard),
                        stream=self.layout.command_stream,
                        config=config,
                    )
                msgs = await subscription.fetch(64, timeout=0.2)
            except (*UNAVAILABLE, nats.js.errors.Error):
                # idle, or the consumer is gone with its server: made again from the next
                subscription = None
                continue
            for msg in msgs:
                last = msg.metadata.sequence.stream
                command = decode_command(msg.data)
                self.sequencer.submit(with_order_id(command, last))
            self.sequencer.flush()
        await nc.close()


def journaled(urls: list[str], layout: StreamLayout, shard: ShardId) -> list[Command]:
    """Every command in the shard's journal stream, in order (the chain checked)."""
    journal = JetStreamJournal(urls, layout, shard)
    try:
        return [decode(item.entry)[2] for item in journal.read()]
    finally:
        journal.close()


class GatewayProcesses:
    """``perpdex gateway`` processes, each on a port of its own; killed at exit."""

    def __init__(
        self, deployment_file: Path, urls: list[str], layout: StreamLayout, logs: Path
    ) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "perpdex.cli.main",
            "gateway",
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
            "--verify-workers",
            "0",
        ]
        self._logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, port: int) -> str:
        log = open(self._logs / f"{name}.log", "ab")  # noqa: SIM115 - the process holds it
        self.processes[name] = subprocess.Popen(
            [*self._argv, "--name", name, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited: see {self._logs / f'{name}.log'}")
            try:
                with urllib.request.urlopen(f"{url}/markets", timeout=1):
                    return f"ws://127.0.0.1:{port}"
            except (urllib.error.URLError, OSError):
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
