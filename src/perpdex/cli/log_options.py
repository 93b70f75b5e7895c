"""``--log-level`` and ``--log-format``, accepted by every command and sub-command."""

from __future__ import annotations

import argparse

from perpdex.logs import FORMATS, LEVELS

DEFAULT_LEVEL = "warning"
"""For a command module without its own ``LOG_LEVEL`` (the services' is ``info``)."""


def log_options() -> argparse.ArgumentParser:
    """A parent parser (``parents=[log_options()]``). Unset options are left out of the
    namespace (``SUPPRESS``), so a sub-command's parser cannot reset what its parent set."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("logging")
    group.add_argument(
        "--log-level",
        choices=LEVELS,
        default=argparse.SUPPRESS,
        help="perpdex's log level (default: info for the commands that run services or the demo,"
        " warning otherwise)",
    )
    group.add_argument(
        "--log-format",
        choices=FORMATS,
        default=argparse.SUPPRESS,
        help="text (default) or json: one object a line; timestamps in UTC, on stderr",
    )
    return options
