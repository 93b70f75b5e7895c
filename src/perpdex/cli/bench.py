"""Run a benchmark and print its figures as one JSON object (``gen-orders``: write the
engine benchmark's workload)."""

from __future__ import annotations

import argparse

from perpdex.cli.subcommands import add_subcommands, run_subcommand

# benchmark name -> module under perpdex.bench exposing add_arguments(parser) and run(args)
BENCHMARKS: dict[str, str] = {
    "engine": "perpdex.bench.engine",
    "gen-orders": "perpdex.bench.workload",
    "eip712": "perpdex.bench.eip712",
    "gas": "perpdex.bench.gas",
    "gateway": "perpdex.bench.gateway",
    "settle": "perpdex.bench.settle",
    "nats-journal": "perpdex.bench.nats_journal",
    "audit": "perpdex.bench.audit",
    "http": "perpdex.bench.http_reads",
    "cluster": "perpdex.bench.cluster",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_subcommands(parser, "benchmark", BENCHMARKS)


def run(args: argparse.Namespace) -> int:
    return run_subcommand(args, "benchmark", BENCHMARKS)
