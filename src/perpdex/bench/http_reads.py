"""``GET /markets/{market}/book`` of a running node's HTTP API (``perpdex up``): requests
per second of a plain client loop, each request on a kept-alive connection, in
``--clients`` threads of this process.

The node's deployment file names the API (``web_url``) and the maker's key: the maker
first rests ``--levels`` bids and asks, one lot each a tick apart, so the book has depth
to encode. What is measured is the whole path a client sees: HTTP parsing (uvicorn, h11),
the route (the gateway's release, the book's levels as decimal strings, pydantic's
validation and JSON), and the client's own loop, all on this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from perpdex.chain.deployment import DEFAULT_DEPLOYMENT_PATH, Role, load_deployment
from perpdex.core.units import from_price_units, from_size_units
from perpdex.sdk.batch import OrderSpec
from perpdex.sdk.client import Client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deployment", type=Path, default=DEFAULT_DEPLOYMENT_PATH)
    parser.add_argument("--market", default="BTC-PERP")
    parser.add_argument("--requests", type=int, default=5_000, help="per client")
    parser.add_argument("--clients", type=int, default=1, help="threads, one connection each")
    parser.add_argument("--levels", type=int, default=50, help="bids and asks rested first")


def run(args: argparse.Namespace) -> int:
    deployment = load_deployment(args.deployment)
    if deployment.web_url is None or deployment.gateway_url is None:
        print(f"error: {args.deployment}: no node serves it (start `perpdex up`)", file=sys.stderr)
        return 1
    if args.levels:
        asyncio.run(_rest_levels(args, deployment.gateway_url))
    parts = urlsplit(deployment.web_url)
    path = f"/markets/{args.market}/book"
    elapsed = [0.0] * args.clients
    sizes: list[int] = [0] * args.clients

    def client(index: int) -> None:
        host = parts.hostname or "127.0.0.1"
        connection = http.client.HTTPConnection(host, parts.port, timeout=10)
        start = time.perf_counter()
        for _ in range(args.requests):
            connection.request("GET", path)
            response = connection.getresponse()
            sizes[index] = len(response.read())
            assert response.status == 200, response.status
        elapsed[index] = time.perf_counter() - start
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    total = args.requests * args.clients
    figures = {
        "path": path,
        "requests": total,
        "clients": args.clients,
        "levels_per_side": args.levels,
        "reply_bytes": sizes[0],
        "requests_per_s": round(total / wall),
        "mean_latency_us": round(sum(elapsed) / total * 1e6, 1),
        "nproc": os.cpu_count(),
    }
    print(json.dumps(figures))
    return 0


async def _rest_levels(args: argparse.Namespace, gateway_url: str) -> None:
    deployment = load_deployment(args.deployment)
    listed = deployment.market(args.market)
    key = deployment.wallet(Role.MAKER).private_key
    assert key is not None, "the deployment file has no maker key"
    tick, lot = from_price_units(listed.tick_size), from_size_units(listed.lot_size)
    mid = from_price_units(listed.index_price)
    specs = [
        OrderSpec(listed.symbol, side, lot, mid + sign * (1 + i) * tick * 10)
        for i in range(args.levels)
        for side, sign in (("sell", Decimal(1)), ("buy", Decimal(-1)))
    ]
    async with Client.connect(gateway_url, key, deployment) as maker:
        await maker.place_many(specs)
