"""Run the exchange in cluster mode: every service its own supervised process on JetStream.

    perpdex cluster up [--nats URL] [--nodes 3] [--shards 2] [--gateways 2] [--http-port P]
                       [--rpc-url URL --deployment FILE] [--run-dir DIR]

Starts (unless ``--nats`` names an existing deployment) a three-node NATS JetStream
cluster on loopback, creates the streams of the layout, and runs each service as its own
OS process under a :class:`perpdex.cluster.supervisor.Supervisor`: the engine shards
first, then the gateways, settlement, the position manager, the keeper and the HTTP
reader (the API and the web app, at the printed URL, which the gateways point plain HTTP
requests at). The deployment file it writes names the first gateway and the API. A
process that dies is restarted and the restart logged; Ctrl-C or SIGTERM stops the
services in the reverse order, then NATS, then the chain it started. Each service's own
command line (``perpdex engine --shard K ...``) is printed, so it can be run by hand on
another machine with ``--nats URL`` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from perpdex.cli.cluster_options import nats_urls
from perpdex.cli.console import run_interruptible

if TYPE_CHECKING:  # the parser stays fast: web3, vyper and nats load in run()
    from nats.js.kv import KeyValue

    from perpdex.cluster.streams import StreamLayout
    from perpdex.cluster.supervisor import ServiceSpec, Supervisor

LOG_LEVEL = "info"
DEFAULT_RUN_DIR = Path("build") / "cluster"
DEFAULT_GATEWAY_PORT = 8765
DEFAULT_HTTP_PORT = 8770
_POLL_S = 0.2
_BOARD_REFRESH_S = 2.0

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nats", help="comma-separated URLs of an existing NATS deployment (default: start 3)"
    )
    parser.add_argument("--nodes", type=int, default=3, help="NATS nodes to start (default 3)")
    parser.add_argument("--shards", type=int, default=2, help="engine shards (default 2)")
    parser.add_argument("--gateways", type=int, default=2, help="gateway processes (default 2)")
    parser.add_argument(
        "--gateway-port",
        type=int,
        default=DEFAULT_GATEWAY_PORT,
        help="the first gateway's port; gateway i listens on this + i",
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=DEFAULT_HTTP_PORT,
        help="the HTTP reader's port: the API and the web app (default 8770)",
    )
    parser.add_argument("--rpc-url", help="run against this chain instead of starting anvil")
    parser.add_argument("--deployment", type=Path, help="with --rpc-url: the deployment file")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="deployment file, NATS store and each service's log (default build/cluster)",
    )


def run(args: argparse.Namespace) -> int:
    return run_interruptible(_run, args)


def service_specs(
    deployment_file: Path,
    nats_urls: Sequence[str],
    layout: StreamLayout,
    gateways: int,
    gateway_port: int,
    state_dir: Path,
    http_port: int = DEFAULT_HTTP_PORT,
) -> list[ServiceSpec]:
    """The command line of every service, in start order (a process publishes only to
    services started before it)."""
    from perpdex.cluster.supervisor import ServiceSpec

    common = (
        "--deployment",
        str(deployment_file),
        "--nats",
        ",".join(nats_urls),
        "--shards",
        str(layout.shards),
        "--replicas",
        str(layout.replicas),
        "--prefix",
        layout.prefix,
    )

    def perpdex(role: str, *extra: str) -> tuple[str, ...]:
        return (sys.executable, "-m", "perpdex.cli.main", role, *common, *extra)

    engines = [
        ServiceSpec(f"engine-{shard}", "engine", perpdex("engine", "--shard", str(shard)), shard)
        for shard in layout.all_shards
    ]
    front = [
        ServiceSpec(
            f"gateway-{index}",
            "gateway",
            perpdex(
                "gateway",
                "--name",
                f"gateway-{index}",
                "--port",
                str(gateway_port + index),
                "--state-dir",
                str(state_dir / f"gateway-{index}"),
                "--web-url",  # plain HTTP asked of a gateway is pointed at the reader
                f"http://127.0.0.1:{http_port}",
            ),
        )
        for index in range(gateways)
    ]
    behind = [
        ServiceSpec("settlement", "settlement", perpdex("settlement")),
        ServiceSpec("risk", "risk", perpdex("risk")),
        ServiceSpec("keeper", "keeper", perpdex("keeper")),
        ServiceSpec(
            "reader",
            "reader",
            # the web app's page sends orders to the first gateway
            perpdex(
                "reader",
                "--port",
                str(http_port),
                "--gateway-url",
                f"ws://127.0.0.1:{gateway_port}",
            ),
        ),
    ]
    return [*engines, *front, *behind]


def _run(args: argparse.Namespace) -> int:
    from web3.exceptions import Web3Exception

    from perpdex.chain.anvil import Anvil, AnvilError
    from perpdex.chain.deployment import DeploymentFileError, load_deployment, write_deployment
    from perpdex.cli.up import fresh_deployment
    from perpdex.cluster.errors import JetStreamUnavailableError
    from perpdex.cluster.nats_server import NatsCluster, NatsConfig, NatsServerError
    from perpdex.cluster.streams import StreamLayout

    if (args.rpc_url is None) != (args.deployment is None):
        print("error: --rpc-url and --deployment go together", file=sys.stderr)
        return 2
    run_dir: Path = args.run_dir
    try:
        with ExitStack() as stack:
            if args.nats is None:
                nats_config = NatsConfig(nodes=args.nodes, store_dir=run_dir / "nats")
                urls = stack.enter_context(NatsCluster(nats_config)).urls
                replicas = nats_config.replicas
            else:
                urls = nats_urls(args)
                replicas = 3 if len(urls) >= 3 else 1
            layout = StreamLayout(shards=args.shards, replicas=replicas)
            if args.rpc_url is not None:
                deployment = replace(load_deployment(args.deployment), rpc_url=args.rpc_url)
            else:
                chain = stack.enter_context(Anvil(log_path=run_dir / "anvil.log"))
                deployment = fresh_deployment(chain.rpc_url)
            gateways = [f"ws://127.0.0.1:{args.gateway_port + i}" for i in range(args.gateways)]
            http = f"http://127.0.0.1:{args.http_port}"
            # what the SDK, the trader's commands and `perpdex audit` find the cluster by
            deployment = replace(deployment, gateway_url=gateways[0], web_url=http)
            deployment_file = write_deployment(deployment, run_dir / "deployment.json")
            specs = service_specs(
                deployment_file,
                urls,
                layout,
                args.gateways,
                args.gateway_port,
                run_dir / "state",
                args.http_port,
            )
            where = _Where(http, gateways, urls, deployment_file, run_dir / "logs")
            return asyncio.run(_supervise(urls, layout, specs, where))
    except (
        AnvilError,
        NatsServerError,
        JetStreamUnavailableError,
        DeploymentFileError,
        ConnectionError,
        OSError,
        Web3Exception,
        ValueError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a user finds the running cluster (printed once it runs)."""

    http: str
    gateways: list[str]
    nats: list[str]
    deployment_file: Path
    log_dir: Path

    def describe(self, supervisor: Supervisor) -> str:
        services = ", ".join(f"{s.name} (pid {s.pid})" for s in supervisor.statuses())
        nats = ",".join(self.nats)
        return "\n".join(
            (
                "perpdex cluster running",
                f"  web app, HTTP API  {self.http}/ (operator dashboard: {self.http}/dashboard)",
                f"  gateways           {', '.join(self.gateways)}",
                f"  deployment         {self.deployment_file} (the first gateway and the API:"
                " give it to the trader's commands as --deployment)",
                f"  NATS               {nats}",
                f"  services           {services}",
                f"  logs               {self.log_dir}/<service>.log",
                f"`perpdex cluster status --nats {nats}` shows each service; Ctrl-C stops all",
            )
        )


async def _supervise(
    urls: list[str], layout: StreamLayout, specs: list[ServiceSpec], where: _Where
) -> int:
    from perpdex.cluster.status import status_bucket
    from perpdex.cluster.streams import ensure_streams
    from perpdex.cluster.supervisor import Supervisor
    from perpdex.cluster.transport import connect

    client = await connect(urls, name="perpdex cluster up")
    try:
        js = client.jetstream()
        await ensure_streams(js, layout)
        board = await status_bucket(js, layout)
        supervisor = Supervisor(specs, where.log_dir)
        supervisor.start()
        try:
            for spec in specs:
                log.info("%s: %s", spec.name, " ".join(spec.argv[1:]))
            print(f"perpdex cluster starting {len(specs)} services...", flush=True)
            await _watch(supervisor, board, lambda: print(where.describe(supervisor), flush=True))
        except (KeyboardInterrupt, asyncio.CancelledError):
            log.info("stopping the services, the last started first")
        finally:
            await asyncio.to_thread(supervisor.stop)
            await _publish(supervisor, board)
    finally:
        await client.close()
    return 0


async def _watch(supervisor: Supervisor, board: KeyValue, serving: Callable[[], None]) -> None:
    """Keep the services running and the board current; call ``serving`` once every
    service has reported itself (which it does once it serves)."""
    published = 0.0
    last = _summary(supervisor)
    waiting = True
    while True:
        supervisor.poll()
        now = _summary(supervisor)
        if now != last or time.monotonic() - published >= _BOARD_REFRESH_S:
            await _publish(supervisor, board)
            published, last = time.monotonic(), now
            if waiting and await _all_serving(supervisor, board):
                waiting = False
                serving()
        await asyncio.sleep(_POLL_S)


async def _all_serving(supervisor: Supervisor, board: KeyValue) -> bool:
    from perpdex.cluster.status import read_board
    from perpdex.cluster.transport import UNAVAILABLE

    try:
        views = {view.name: view for view in await read_board(board)}
    except UNAVAILABLE:
        return False
    names = [status.name for status in supervisor.statuses()]
    return all(name in views and views[name].host is not None for name in names)


async def _publish(supervisor: Supervisor, board: KeyValue) -> None:
    from perpdex.cluster.status import ProcessRecord, now_ms, put_process
    from perpdex.cluster.transport import UNAVAILABLE

    for status in supervisor.statuses():
        record = ProcessRecord(
            name=status.name,
            role=status.role,
            shard=status.shard,
            pid=status.pid,
            state=status.state.value,
            restarts=status.restarts,
            updated_ms=now_ms(),
        )
        try:
            await put_process(board, record)
        except UNAVAILABLE as error:  # the board catches up at the next refresh
            log.info("status board unavailable: %s", error)
            return


def _summary(supervisor: Supervisor) -> list[dict[str, object]]:
    return [
        {"name": s.name, "role": s.role, "shard": s.shard, "pid": s.pid, "state": s.state.value}
        for s in supervisor.statuses()
    ]
