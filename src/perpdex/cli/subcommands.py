"""Commands with sub-commands (``perpdex bench gas``, ``perpdex sim cascade``): a table of
name -> module exposing ``add_arguments(parser)`` and ``run(args) -> int``, each module
imported only when its parser is built or it runs."""

from __future__ import annotations

import argparse
import importlib

from perpdex.cli.log_options import log_options


def add_subcommands(parser: argparse.ArgumentParser, dest: str, table: dict[str, str]) -> None:
    sub = parser.add_subparsers(dest=dest, required=True)
    for name, module_name in table.items():
        module = importlib.import_module(module_name)
        parser = sub.add_parser(name, help=module.__doc__, parents=[log_options()])
        module.add_arguments(parser)
        if hasattr(module, "LOG_LEVEL"):  # a sub-command's own default (``perpdex.cli.main``)
            parser.set_defaults(subcommand_log_level=module.LOG_LEVEL)


def run_subcommand(args: argparse.Namespace, dest: str, table: dict[str, str]) -> int:
    module = importlib.import_module(table[getattr(args, dest)])
    code: int = module.run(args)
    return code
