"""``perpdex cluster up`` as a child process, read through ``perpdex cluster status``, and
the cluster's own record of what happened: the fills its engines made (a replay of the
journals), the outcomes settlement published, and the position manager of cluster mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from perpdex.chain.deployment import Deployment
from perpdex.cluster.outcome_follower import OutcomeFollower
from perpdex.cluster.position_feed import PositionFeed
from perpdex.cluster.replicas import ReplicaSet
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import connect
from perpdex.engine.events import Event, Filled
from perpdex.risk.from_chain import deployment_domain, engine_markets, position_manager_from_chain
from perpdex.risk.manager import PositionManager
from perpdex.settlement.outcomes import FillKey, FillOutcome, Rejected, Settled, fill_key
from perpdex.settlement.payload import match_from_fill

REPO = Path(__file__).resolve().parents[3]
Board = dict[str, dict[str, object]]
"""``perpdex cluster status --json``: each service's row by name."""
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def free_port_pair() -> int:
    """A loopback port whose next port is free too (gateway i listens on port + i)."""
    while True:
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port: int = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port


class ClusterUp:
    """``perpdex cluster up --nats URLS`` (the chain and deployment given), its output in
    ``run_dir/cluster-up.log``; stopped as an operator does, with Ctrl-C."""

    def __init__(
        self, urls: list[str], deployment: Deployment, deployment_file: Path, run_dir: Path
    ) -> None:
        self.urls = urls
        self.gateway_port = free_port_pair()
        self.http_port = free_port_pair()
        """The reader's HTTP API."""
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.log = run_dir / "cluster-up.log"
        argv = [
            sys.executable, "-m", "perpdex.cli.main", "cluster", "up",
            "--nats", ",".join(urls), "--rpc-url", deployment.rpc_url,
            "--deployment", str(deployment_file), "--gateway-port", str(self.gateway_port),
            "--http-port", str(self.http_port), "--run-dir", str(run_dir),
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=ENV
            )
        self.pids: set[int] = set()
        """Every service pid the board showed: killed at the end if one outlived the stop."""

    def gateway_url(self, index: int) -> str:
        return f"ws://127.0.0.1:{self.gateway_port + index}"

    def board(self) -> Board:
        """``perpdex cluster status --json``, by service name."""
        argv = [sys.executable, "-m", "perpdex.cli.main", "cluster", "status", "--json"]
        done = subprocess.run(
            [*argv, "--nats", ",".join(self.urls)],
            capture_output=True,
            cwd=REPO,
            env=ENV,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:  # a NATS node down: the next look asks again
            return {}
        rows = {str(row["name"]): row for row in json.loads(done.stdout)}
        self.pids |= {int(row["pid"]) for row in rows.values() if row.get("pid")}
        return rows

    def until_board(self, wanted: str, ready: Callable[[Board], bool], within_s: float) -> Board:
        """The board once ``ready(board)`` holds, asked again until ``within_s``."""
        deadline = time.monotonic() + within_s
        while True:
            assert self.process.poll() is None, f"cluster up exited: {self.log.read_text()}"
            rows = self.board()
            if ready(rows):
                return rows
            assert time.monotonic() < deadline, f"{wanted} within {within_s} s: {rows}"
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.pids:  # a service that outlived its supervisor
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


async def stream_leader(urls: list[str], stream: str) -> int:
    """The index in ``NatsCluster`` of the node that leads ``stream`` (named ``n<i + 1>``)."""
    nc = await connect(urls, name="test leader")
    try:
        info = await nc.jetstream().stream_info(stream)
    finally:
        await nc.close()
    assert info.cluster is not None and info.cluster.leader is not None, info
    return int(info.cluster.leader.removeprefix("n")) - 1


@dataclass
class ClusterRecord:
    """What the cluster says happened: its engines' fills (from a replay of the journals),
    the outcomes of them settlement published, and the position manager of cluster mode
    built from them as the risk process builds it (the chain's fold, the replicas' fills,
    the outcomes)."""

    fills: list[FillKey] = field(default_factory=list)
    settled: set[FillKey] = field(default_factory=set)
    rejected: dict[FillKey, str] = field(default_factory=dict)
    pm: PositionManager | None = None

    @property
    def unsettled(self) -> list[FillKey]:
        return [k for k in self.fills if k not in self.settled and k not in self.rejected]


async def cluster_record(
    deployment: Deployment, urls: list[str], layout: StreamLayout
) -> ClusterRecord:
    domain = deployment_domain(deployment)
    record = ClusterRecord()
    nc = await connect(urls, name="test record")
    pm = await position_manager_from_chain(deployment)
    replicas = ReplicaSet(nc, layout, engine_markets(deployment))
    feed = PositionFeed(pm, domain, lambda: replicas.books)

    def on_event(event: Event) -> None:
        if isinstance(event, Filled):
            record.fills.append(fill_key(match_from_fill(event, domain)))
            feed.on_fill(event)

    def on_outcome(outcome: FillOutcome) -> None:
        key = fill_key(outcome.match)
        if isinstance(outcome, Settled):
            record.settled.add(key)
        elif isinstance(outcome, Rejected):
            record.rejected[key] = outcome.reason.name
        feed.on_outcome(outcome)

    outcomes = OutcomeFollower(nc, layout, domain, on_outcome)
    try:
        await outcomes.start()
        await outcomes.caught_up()
        replicas.bus.subscribe(on_event)
        await replicas.start()
        await replicas.caught_up()
        feed.go_live()
        await pm.sync()  # the chain's fold reaches every settled fill's block
    finally:
        await outcomes.stop()
        await replicas.stop()
        await nc.close()
    record.pm = pm
    return record


def wait_settled(
    deployment: Deployment, urls: list[str], layout: StreamLayout, within_s: float
) -> ClusterRecord:
    """The record once every engine fill has an outcome, or at ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        record = asyncio.run(cluster_record(deployment, urls, layout))
        if not record.unsettled or time.monotonic() > deadline:
            return record
        time.sleep(1.0)
