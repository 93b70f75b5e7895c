"""Cluster mode (issue 13): ``up`` runs every service as a supervised process on NATS
JetStream, ``status`` shows them, ``nats`` runs the NATS servers alone."""

from __future__ import annotations

import argparse

from perpdex.cli.subcommands import add_subcommands, run_subcommand

# sub-command name -> module exposing add_arguments(parser) and run(args)
SUBCOMMANDS: dict[str, str] = {
    "nats": "perpdex.cli.cluster_nats",
    "up": "perpdex.cli.cluster_up",
    "status": "perpdex.cli.cluster_status",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_subcommands(parser, "cluster_command", SUBCOMMANDS)


def run(args: argparse.Namespace) -> int:
    return run_subcommand(args, "cluster_command", SUBCOMMANDS)
