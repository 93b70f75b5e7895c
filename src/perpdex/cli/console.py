"""Console helpers shared by the commands that run a local chain and print tables."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the chain modules load web3 and vyper; the parser must stay fast
    from perpdex.chain.anvil import Anvil

_POLL_SECONDS = 0.5


def serve(node: Anvil) -> int:
    """Block until Ctrl-C or SIGTERM; the caller's ``with`` then stops anvil."""
    print(f"\nanvil is running at {node.rpc_url}; press Ctrl-C to stop it", flush=True)
    try:
        while node.running:
            time.sleep(_POLL_SECONDS)
    except KeyboardInterrupt:
        print("stopping anvil")
        return 0
    print("error: anvil exited on its own", file=sys.stderr)
    return 1


def run_interruptible(body: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Runs a command's ``body`` so that SIGTERM unwinds like Ctrl-C: a started anvil is then
    stopped on every exit path (its ``with`` block exits). Ctrl-C (SIGINT) stops it even if
    the parent ignored SIGINT (a job started in the background of a script, which Python
    would otherwise leave deaf to it)."""
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return body(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def plain(amount: Decimal) -> str:
    """``100000.000000`` -> ``100000``, ``0.100000`` -> ``0.1`` (display only)."""
    return f"{amount.normalize():f}"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in (header, *rows)
    ]
    return "\n".join(line.rstrip() for line in lines)
