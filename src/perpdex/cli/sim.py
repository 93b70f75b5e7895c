"""Run a market simulation and print its figures as JSON."""

from __future__ import annotations

import argparse
import importlib

# simulation name -> module under perpdex.sim.commands exposing add_arguments(parser) and
# run(args) -> int; a new simulation is a new module and one line here
SIMULATIONS: dict[str, str] = {
    "amm-vs-book": "perpdex.sim.commands.amm_vs_book",
    "cascade": "perpdex.sim.commands.cascade",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="simulation", required=True)
    for name, module_name in SIMULATIONS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=module.__doc__))


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(SIMULATIONS[args.simulation])
    code: int = module.run(args)
    return code
