"""Entry point of the ``perpdex`` command: one sub-command per job.

Each sub-command lives in its own module and registers itself through ``COMMANDS``; the
module is imported only when its command runs, so ``perpdex --help`` stays fast. Every
command takes ``--log-level`` and ``--log-format`` (a module's ``LOG_LEVEL`` is its default).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from perpdex.cli.log_options import DEFAULT_LEVEL, log_options
from perpdex.logs import configure_logging

# command name -> module exposing ``add_arguments(parser)`` and ``run(args) -> int``
COMMANDS: dict[str, str] = {
    "bench": "perpdex.cli.bench",
    "deploy": "perpdex.cli.deploy",
    "demo": "perpdex.cli.demo",
    "up": "perpdex.cli.up",
    "sim": "perpdex.cli.sim",
    "deposit": "perpdex.cli.deposit",
    "withdraw": "perpdex.cli.withdraw",
    "positions": "perpdex.cli.positions",
    "leverage": "perpdex.cli.leverage",
    "margin": "perpdex.cli.margin",
    "order": "perpdex.cli.order",
    "cancel": "perpdex.cli.cancel",
    "tpsl": "perpdex.cli.tpsl",
    "close": "perpdex.cli.close",
    "book": "perpdex.cli.book",
    "receipts": "perpdex.cli.receipts",
    "keeper": "perpdex.cli.keeper",
    "cluster": "perpdex.cli.cluster",
    "risk": "perpdex.cli.risk",
    "settlement": "perpdex.cli.settlement",
    "audit": "perpdex.cli.audit",
    "gateway": "perpdex.cli.gateway",
    "engine": "perpdex.cli.engine",
    "reader": "perpdex.cli.reader",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="perpdex", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=module.__doc__, parents=[log_options()]))
    args = parser.parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command])
    default = getattr(args, "subcommand_log_level", getattr(module, "LOG_LEVEL", DEFAULT_LEVEL))
    level: str = getattr(args, "log_level", default)
    configure_logging(level, getattr(args, "log_format", "text"))
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
