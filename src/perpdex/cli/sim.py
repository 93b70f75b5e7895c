"""Run a market simulation and print its figures as JSON."""

from __future__ import annotations

import argparse

from perpdex.cli.subcommands import add_subcommands, run_subcommand

# simulation name -> module under perpdex.sim.commands exposing add_arguments(parser) and
# run(args) -> int; a new simulation is a new module and one line here
SIMULATIONS: dict[str, str] = {
    "amm-vs-book": "perpdex.sim.commands.amm_vs_book",
    "cascade": "perpdex.sim.commands.cascade",
    "chaos": "perpdex.sim.commands.chaos",
    "market": "perpdex.sim.commands.market",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_subcommands(parser, "simulation", SIMULATIONS)


def run(args: argparse.Namespace) -> int:
    return run_subcommand(args, "simulation", SIMULATIONS)
