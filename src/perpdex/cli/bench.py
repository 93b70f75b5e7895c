"""Run a benchmark and print its figures as one JSON object."""

from __future__ import annotations

import argparse
import importlib

# benchmark name -> module under perpdex.bench exposing add_arguments(parser) and run(args)
BENCHMARKS: dict[str, str] = {
    "engine": "perpdex.bench.engine",
    "eip712": "perpdex.bench.eip712",
    "gas": "perpdex.bench.gas",
    "gateway": "perpdex.bench.gateway",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", required=True)
    for name, module_name in BENCHMARKS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=module.__doc__))


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(BENCHMARKS[args.benchmark])
    code: int = module.run(args)
    return code
