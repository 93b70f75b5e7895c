"""Signed orders through cluster mode's processes beside the embedded node, in one run:
orders accepted per second, ack and fill latency (p50, p99), CPU per order by process.

    perpdex bench cluster [--orders 4000] [--clients 32] [--configs embedded,1x1,1x2,2x1,2x2]
                          [--nats-nodes 3] [--json] [--log-level info: progress]

The command starts anvil (contracts deployed, every trader funded) and, for the cluster
configurations, a NATS JetStream cluster (``--nats-nodes``, 3 as ``perpdex cluster up``
starts it: every stream with three replicas; 1: one server, one replica). Configuration
``GxS`` is G ``perpdex gateway`` processes on S ``perpdex engine --shard K`` processes,
started with ``perpdex cluster up``'s command lines on fresh streams; ``embedded`` is the
gateway and the engine in this process, as ``perpdex up`` runs them (perpdex.bench.
cluster_targets says what both do per order). Every configuration gets the same
pre-signed orders from ``--clients`` connections (perpdex.bench.cluster_load: makers and
takers over two markets, one order in flight per connection), after one resting ask per
market that every taker can trade with.

Figures per configuration: ``orders_per_s`` (answers over the time from the first send to
the last answer), ``ack_p50_ms``/``ack_p99_ms`` (order sent to ``placed``),
``fill_p50_ms``/``fill_p99_ms`` (a taker's order sent to its trade on the trade channel),
the counts (every order placed, every taker filled), and the CPU each process spent per
order, with the share of the whole machine that was busy (other jobs included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perpdex.bench.engine import percentile

if TYPE_CHECKING:  # web3, nats and the gateway load when the benchmark runs
    from perpdex.bench.cluster_load import Workload
    from perpdex.bench.cluster_targets import Target

log = logging.getLogger(__name__)

DEFAULT_CONFIGS = "embedded,1x1,1x2,2x1,2x2"
DEPOSIT_USDC = "1000000"
"""Each trader's collateral: far more than its orders and pending fills need."""


@dataclass(frozen=True, slots=True)
class Configuration:
    name: str
    gateways: int
    shards: int

    @property
    def embedded(self) -> bool:
        return self.name == "embedded"

    @classmethod
    def parse(cls, name: str) -> Configuration:
        if name == "embedded":
            return cls(name, 1, 1)
        gateways, _, shards = name.partition("x")
        if not (gateways.isdigit() and shards.isdigit() and int(gateways) and int(shards)):
            raise ValueError(f"{name!r} is neither embedded nor GxS (gateways x shards)")
        return cls(name, int(gateways), int(shards))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=4_000, help="orders per configuration")
    parser.add_argument(
        "--clients", type=int, default=32, help="connections, one order in flight each"
    )
    parser.add_argument(
        "--traders",
        type=int,
        default=256,
        help="traders the connections' orders rotate over (pending fills per trader stay few)",
    )
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument(
        "--configs",
        default=DEFAULT_CONFIGS,
        help=f"comma-separated: embedded, GxS (default {DEFAULT_CONFIGS})",
    )
    parser.add_argument(
        "--nats-nodes",
        type=int,
        choices=(1, 3),
        default=3,
        help="NATS servers (3, as cluster up: streams with 3 replicas; 1: one replica)",
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--run-dir", type=Path, help="keep the logs here (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="one JSON object, no table")


def run(args: argparse.Namespace) -> int:
    try:
        configs = [Configuration.parse(name) for name in args.configs.split(",")]
        if args.orders < 1 or args.clients < 4 or args.client_processes < 1:
            raise ValueError("--orders and --client-processes must be positive, --clients >= 4")
        if args.traders < args.clients:
            raise ValueError("--traders must be at least --clients (a trader per connection)")
    except ValueError as error:
        print(f"perpdex bench cluster: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="perpdex-bench-cluster-") as temp:
        run_dir = args.run_dir or Path(temp)
        run_dir.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(_bench(args, configs, run_dir))
    print(json.dumps(figures) if args.json else table(figures))
    return 0


async def _bench(
    args: argparse.Namespace, configs: list[Configuration], run_dir: Path
) -> dict[str, Any]:
    from perpdex.bench import cluster_targets as targets
    from perpdex.bench.cluster_load import Traders, Workload
    from perpdex.cluster.nats_server import NatsCluster, NatsConfig
    from perpdex.cluster.streams import StreamLayout
    from perpdex.core.units import to_collateral_units
    from perpdex.risk.from_chain import deployment_domain

    traders = Traders.of(args.traders, args.seed)
    started = {"time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    load_start = os.getloadavg()
    results = []
    async with AsyncExitStack() as stack:
        deployment, deployment_file = stack.enter_context(
            targets.funded_chain(run_dir, traders.addresses, to_collateral_units(DEPOSIT_USDC))
        )
        workload = Workload(
            deployment.markets,
            deployment_domain(deployment),
            traders,
            clients=args.clients,
            orders=args.orders,
        )
        log.info("chain deployed, %d traders funded, orders signed", len(traders.keys) + 1)
        nats_config = NatsConfig(nodes=args.nats_nodes, store_dir=run_dir / "nats")
        nats = None
        if not all(config.embedded for config in configs):
            nats = stack.enter_context(NatsCluster(nats_config))
        for index, config in enumerate(configs):
            if config.embedded:
                target = targets.embedded(deployment, run_dir / f"embedded-{index}.journal")
                servers: dict[str, list[int]] = {}
            else:
                assert nats is not None
                layout = StreamLayout(config.shards, nats_config.replicas, prefix=f"bench{index}")
                target = targets.cluster(
                    deployment_file, nats.urls, layout, config.gateways, run_dir
                )
                servers = {
                    f"nats-{i}": [pid]
                    for i in range(nats_config.nodes)
                    if (pid := nats.pid(i)) is not None
                }
            async with target as serving:
                log.info("%s serving at %s: sending the orders", config.name, serving.urls)
                figures = await _measure(serving, servers, workload, args.client_processes)
            log.info("%s: %d orders/s", config.name, figures["orders_per_s"])
            named = {"config": config.name, "gateways": config.gateways, "shards": config.shards}
            results.append(named | figures)
    return started | {
        "nproc": os.cpu_count(),
        "load_avg_start": [round(x, 2) for x in load_start],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "nats_nodes": args.nats_nodes,
        "stream_replicas": nats_config.replicas,
        "clients": args.clients,
        "traders": args.traders,
        "orders": workload.orders,
        "configs": results,
    }


async def _measure(
    target: Target, servers: dict[str, list[int]], workload: Workload, client_processes: int
) -> dict[str, Any]:
    from perpdex.bench import cluster_targets as targets
    from perpdex.bench.cluster_load import run_clients

    await targets.place_liquidity(target.urls[0], workload.liquidity(), len(workload.markets))
    processes = target.processes | servers
    idle_rate = await _idle_rates(processes)
    cpu_before, busy_before = targets.cpu_seconds(processes), targets.machine_busy()
    began = time.monotonic()
    measured, trades, client_cpu = await run_clients(target.urls, workload, client_processes)
    window_s = time.monotonic() - began
    cpu_after, busy_after = targets.cpu_seconds(processes), targets.machine_busy()
    spent = {name: cpu_after[name] - cpu_before[name] for name in processes}
    placed = sum(m.placed for m in measured)
    acks = sorted(ns for m in measured for ns in m.ack_ns)
    taken = [(trade, sent) for m in measured for trade, sent in m.taken]
    fills = sorted(trades[trade] - sent for trade, sent in taken if trade in trades)
    errors = [error for m in measured for error in m.errors]
    elapsed_ns = max(m.last_answer_ns for m in measured) - min(m.first_send_ns for m in measured)
    per_order = 1e6 / max(placed, 1)
    return {
        "orders": workload.orders,
        "placed": placed,
        "unapplied": sum(m.unapplied for m in measured),
        "errors": len(errors),
        "error_sample": errors[:3],
        "takers": sum(m.takers for m in measured),
        "fills": len(fills),
        "orders_per_s": round(placed / (elapsed_ns / 1e9)),
        "elapsed_s": round(elapsed_ns / 1e9, 2),
        "ack_p50_ms": _ms(percentile(acks, 0.50)) if acks else None,
        "ack_p99_ms": _ms(percentile(acks, 0.99)) if acks else None,
        "fill_p50_ms": _ms(percentile(fills, 0.50)) if fills else None,
        "fill_p99_ms": _ms(percentile(fills, 0.99)) if fills else None,
        "cpu_us_per_order": {name: round(spent[name] * per_order, 1) for name in processes}
        | {"clients": round(client_cpu * per_order, 1)},
        "idle_cpu_pct": {name: round(100 * rate, 1) for name, rate in idle_rate.items()},
        "cpu_us_per_order_net": {
            name: round((spent[name] - idle_rate[name] * window_s) * per_order, 1)
            for name in processes
        }
        | {"clients": round(client_cpu * per_order, 1)},
        "machine_busy_pct": round(
            100 * (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1]), 1
        ),
    }


async def _idle_rates(processes: dict[str, list[int]]) -> dict[str, float]:
    """Each process's CPU seconds per second while no order comes: the least of
    ``IDLE_WINDOWS`` one-second windows, so that a worker still starting (a gateway's
    workers import for a second or two after it listens) is not taken for idle work."""
    from perpdex.bench import cluster_targets as targets

    rates: dict[str, float] = {name: float("inf") for name in processes}
    before = targets.cpu_seconds(processes)
    for _ in range(IDLE_WINDOWS):
        await asyncio.sleep(1.0)
        after = targets.cpu_seconds(processes)
        rates = {name: min(rates[name], after[name] - before[name]) for name in processes}
        before = after
    return rates


def _ms(ns: int) -> float:
    return round(ns / 1e6, 3)


ROLES = ("embedded", "gateway", "engine", "nats", "clients")
IDLE_WINDOWS = 3
"""One-second windows of each process's CPU sampled before the orders, to tell its idle
work (the position manager's chain polls, timers, NATS heartbeats) from the orders'
(``_net``)."""


def table(figures: dict[str, Any]) -> str:
    """The figures as a Markdown table (CPU per order, less the idle rate, summed over each
    role's processes)."""
    head = (
        "| config | orders/s | ack p50 ms | ack p99 ms | fill p50 ms | fill p99 ms "
        "| placed / orders | fills / takers | errors | CPU µs/order net of idle: "
        + ", ".join(ROLES)
        + " | machine busy % |"
    )
    lines = [
        f"{figures['time']}, nproc {figures['nproc']}, load average {figures['load_avg_start']}"
        f" → {figures['load_avg_end']}, {figures['clients']} connections, "
        f"{figures['traders']} traders, NATS nodes "
        f"{figures['nats_nodes']} (stream replicas {figures['stream_replicas']})",
        "",
        head,
        "|---" * (head.count("|") - 1) + "|",
    ]
    for row in figures["configs"]:
        cpu = row["cpu_us_per_order_net"]
        by_role = [
            sum(value for name, value in cpu.items() if name.startswith(role)) for role in ROLES
        ]
        lines.append(
            f"| {row['config']} | {row['orders_per_s']:,} | {row['ack_p50_ms']} "
            f"| {row['ack_p99_ms']} | {row['fill_p50_ms']} | {row['fill_p99_ms']} "
            f"| {row['placed']:,} / {row['orders']:,} | {row['fills']:,} / {row['takers']:,} "
            f"| {row['errors']} | "
            + ", ".join(f"{v:,.0f}" for v in by_role)
            + f" | {row['machine_busy_pct']} |"
        )
    return "\n".join(lines)
