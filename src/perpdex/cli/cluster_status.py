"""Show each service of a cluster: role, shard, pid, state, restarts and lag.

    perpdex cluster status --nats URL [--json]

Reads the status board (``perpdex.cluster.status``) that the supervisor and every service
write to, so it works from any machine that reaches NATS. A service that stopped
reporting shows no lag: its record expired.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

import msgspec

from perpdex.cli.cluster_options import nats_urls

if TYPE_CHECKING:
    from perpdex.cluster.status import ServiceView

CONNECT_TIMEOUT_S = 5.0
COLUMNS = ("name", "role", "shard", "pid", "state", "restarts", "lag", "seq", "host")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nats", required=True, help="comma-separated NATS URLs")
    parser.add_argument("--prefix", default="perpdex", help="the layout's subject prefix")
    parser.add_argument("--json", action="store_true", help="one JSON array")


def run(args: argparse.Namespace) -> int:
    from perpdex.cluster.errors import JetStreamUnavailableError

    urls = nats_urls(args)
    try:
        views = asyncio.run(_read(urls, args.prefix))
    except JetStreamUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(msgspec.to_builtins(views)))
    else:
        print(format_table(views))
    return 0


async def _read(urls: list[str], prefix: str) -> list[ServiceView]:
    from nats.js.errors import BucketNotFoundError

    from perpdex.cluster.errors import JetStreamUnavailableError
    from perpdex.cluster.status import bucket_name, read_board
    from perpdex.cluster.transport import connect, unavailable_on_failure

    try:
        # a service's client tries the servers for ever; a one-off look gives up
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            client = await connect(urls, name="perpdex cluster status")
    except TimeoutError:
        raise JetStreamUnavailableError(
            f"no NATS server answered at {', '.join(urls)} within {CONNECT_TIMEOUT_S:g} s"
        ) from None
    try:
        async with unavailable_on_failure("status board"):
            try:
                board = await client.jetstream().key_value(bucket_name(prefix))
            except BucketNotFoundError:
                return []
            return await read_board(board)
    finally:
        await client.close()


def format_table(views: list[ServiceView]) -> str:
    rows: list[tuple[str, ...]] = [COLUMNS]
    for view in views:
        fields = msgspec.to_builtins(view)
        rows.append(tuple("-" if fields[c] is None else str(fields[c]) for c in COLUMNS))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
