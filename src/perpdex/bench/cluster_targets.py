"""What ``perpdex bench cluster`` measures: a chain with the traders funded, the embedded
gateway (engine and gateway in this process, as ``perpdex up`` runs them), and the engine
and gateway processes of cluster mode started with the command lines ``perpdex cluster up``
gives them; and the CPU each process spent.

Both modes check every order against a position manager folded from the same chain (the
pre-trade margin check), journal every command (the embedded one to a file, as ``perpdex
up`` does; cluster mode to JetStream), recover signers in one worker process per gateway
and sign each accepted order's receipt in another (the keeper's key, as both modes do).
Settlement, the risk process and the keeper do not run in either mode: fills stay pending,
so the chain adds nothing per order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import connect as ws_connect

import perpdex
from perpdex.bench.cluster_load import ANSWER_WAIT_S, frames_of
from perpdex.bench.engine import new_journal
from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind, credit
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.chain.transact import connect as web3_connect
from perpdex.cli.cluster_up import service_specs
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.streams import StreamLayout, ensure_streams
from perpdex.cluster.supervisor import ServiceState, Supervisor
from perpdex.cluster.transport import connect as nats_connect
from perpdex.core.types import Address, Collateral
from perpdex.engine.clock import WallClock
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventBus
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway.receipts import make_signer, receipt_key
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway
from perpdex.gateway.verify import make_verifier
from perpdex.risk.from_chain import deployment_domain, engine_markets, position_manager_from_chain

POLL_INTERVAL_S = 0.2
"""The position manager's chain poll, as the node's and a gateway process's."""
START_TIMEOUT_S = 180.0
"""A loaded 2-core machine starts a gateway process slowly (it folds the chain first)."""
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Target:
    """Where the clients connect, and which processes serve them: by name, the pids of a
    process and its children (a gateway's signature worker)."""

    urls: list[str]
    processes: dict[str, list[int]]


@contextlib.contextmanager
def funded_chain(
    run_dir: Path, traders: Sequence[Address], deposit: Collateral
) -> Iterator[tuple[Deployment, Path]]:
    """anvil with the contracts deployed and each trader's collateral deposited; the
    deployment and its file."""
    with Anvil(log_path=run_dir / "anvil.log") as node:
        deployment = fresh_deployment(node.rpc_url)
        web3 = web3_connect(deployment.rpc_url)
        admin = deployment.wallet(Role.ADMIN).account()
        credit(web3, bind(web3, deployment), admin, [(trader, deposit) for trader in traders])
        path = write_deployment(deployment, run_dir / "deployment.json")
        yield deployment, path


@contextlib.asynccontextmanager
async def embedded(deployment: Deployment, journal: Path) -> AsyncIterator[Target]:
    """The gateway and the engine in this process, on a fresh file journal."""
    domain = deployment_domain(deployment)
    pm = await position_manager_from_chain(deployment)
    bus = EventBus()
    bus.subscribe(pm.on_engine_event)
    file_journal = new_journal(journal)
    sequencer = Sequencer(Engine(engine_markets(deployment), bus), WallClock(), file_journal)
    before = set(_children(os.getpid()))
    verifier = make_verifier(domain, 1)
    signer = make_signer(receipt_key(deployment), worker=True)  # as perpdex up's gateway
    poll = asyncio.create_task(pm.run(POLL_INTERVAL_S))
    try:
        gateway = Gateway(sequencer, bus, domain, risk=pm, verifier=verifier, receipts=signer)
        async with GatewayServer(gateway) as server:
            # this process's children but the clients (started later): the worker
            workers = [pid for pid in _children(os.getpid()) if pid not in before]
            yield Target([f"ws://127.0.0.1:{server.port}"], {"embedded": [os.getpid(), *workers]})
    finally:
        poll.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poll
        verifier.close()
        signer.close()
        file_journal.close()


@contextlib.asynccontextmanager
async def cluster(
    deployment_file: Path,
    nats: Sequence[str],
    layout: StreamLayout,
    gateways: int,
    run_dir: Path,
) -> AsyncIterator[Target]:
    """``perpdex engine --shard K`` per shard and ``gateway`` processes, supervised, as
    ``perpdex cluster up`` starts them (its command lines), on fresh streams."""
    client = await nats_connect(nats, name="perpdex bench cluster")
    try:
        await ensure_streams(client.jetstream(), layout)
    finally:
        await client.close()
    port = _free_port_pair()
    specs = [
        spec
        for spec in service_specs(
            deployment_file, nats, layout, gateways, port, run_dir / "state" / layout.prefix
        )
        if spec.role in ("engine", "gateway")
    ]
    source = str(Path(perpdex.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    supervisor = Supervisor(
        specs, run_dir / "logs" / layout.prefix, env={**os.environ, "PYTHONPATH": path}
    )
    supervisor.start()
    try:
        await _serving(supervisor, [spec.name for spec in specs], port)
        urls = [f"ws://127.0.0.1:{port + index}" for index in range(gateways)]
        yield Target(
            urls,
            {
                status.name: [status.pid, *_descendants(status.pid)]
                for status in supervisor.statuses()
                if status.pid is not None
            },
        )
    finally:
        await asyncio.to_thread(supervisor.stop)


async def _serving(supervisor: Supervisor, names: list[str], port: int) -> None:
    """Until every engine has replayed its journal and every gateway listens."""
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = list(names)
    while pending:
        supervisor.poll()
        for status in supervisor.statuses():
            if status.state is not ServiceState.RUNNING:
                raise RuntimeError(f"{status.name} exited: see {supervisor.log_path(status.name)}")
        pending = [name for name in pending if not _ready(supervisor, name, port)]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending} not serving within {START_TIMEOUT_S:.0f} s")
        await asyncio.sleep(0.2)


def _ready(supervisor: Supervisor, name: str, port: int) -> bool:
    if name.startswith("engine-"):
        return "serving markets" in supervisor.log_path(name).read_text()
    index = int(name.removeprefix("gateway-"))
    try:
        socket.create_connection(("127.0.0.1", port + index), timeout=1).close()
    except OSError:
        return False
    return True


async def place_liquidity(url: str, frame: str, orders: int) -> None:
    """Send the liquidity frame and wait until each of its ``orders`` is placed."""
    async with ws_connect(url, max_size=None, compression=None) as ws:
        await ws.send(frame)
        placed = 0
        while placed < orders:
            for seen in frames_of(await asyncio.wait_for(ws.recv(), ANSWER_WAIT_S)):
                if seen.type == "error":
                    raise RuntimeError(f"the liquidity was refused: {seen.message}")
                placed += seen.type == "placed"


# -- CPU -------------------------------------------------------------------------------------


def cpu_seconds(processes: dict[str, list[int]]) -> dict[str, float]:
    """User and system CPU seconds so far of each named group of processes."""
    return {name: sum(map(_cpu_of, pids)) for name, pids in processes.items()}


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (``/proc/stat``:
    everything but idle and iowait is busy)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    total = sum(fields[:8])
    idle = fields[3] + fields[4]
    return (total - idle) / _CLOCK_TICKS, total / _CLOCK_TICKS


def _cpu_of(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def _descendants(pid: int) -> list[int]:
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def _free_port_pair() -> int:
    """A port that is free now with the next one free too (gateway i listens on base + i)."""
    while True:
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            base: int = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", base + 1))
                except OSError:
                    continue
        return base
