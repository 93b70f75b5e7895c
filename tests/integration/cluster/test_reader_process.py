"""The HTTP reader of cluster mode (``perpdex reader``) on a real nats-server and a real
anvil: orders placed through a ``perpdex gateway`` process on two engine shards (each a
``perpdex engine --shard K`` process) show in the reader's books, open orders, trades and
fills; ``/health`` names each shard's replica; ``/journal?shard=K`` pages each shard's
journal; a reader SIGKILLed and started again answers the same; no route of the API answers
a 5xx."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from tests.integration.cluster.gateway_testing import GatewayProcesses, engine_processes
from tests.integration.cluster.test_gateway_processes import client, free_port

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.cli.main import main
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import StreamLayout
from perpdex.core.types import MarketId
from perpdex.sdk.client import Client
from perpdex.webapp.mount import PAGES, STATIC_DIR

WAIT_S = 20.0
prefixes = (f"rd{n}" for n in itertools.count())


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


@pytest.fixture
def layout() -> StreamLayout:
    return StreamLayout(shards=2, prefix=next(prefixes))


class Reader:
    """A ``perpdex reader`` process's HTTP API, read with a plain blocking client."""

    def __init__(self, processes: GatewayProcesses, gateway_url: str) -> None:
        self._processes = processes
        self._gateway_url = gateway_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._processes.start("reader", self.port, "--gateway-url", self._gateway_url)

    def kill(self) -> None:
        self._processes.kill("reader")

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                body = response.read()
                kind = response.headers.get("content-type", "")
                return response.status, json.loads(body) if "json" in kind else body
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def ok(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == HTTPStatus.OK, (path, status, body)
        return body

    def until(self, path: str, done: Callable[[Any], bool]) -> Any:
        """``path``'s body once ``done`` holds for it (the replicas apply as they read)."""
        deadline = time.monotonic() + WAIT_S
        while not done(body := self.ok(path)):
            assert time.monotonic() < deadline, (path, body)
            time.sleep(0.2)
        return body


@pytest.fixture
def processes(
    nats_single: NatsCluster, layout: StreamLayout, deployment: Deployment, tmp_path: Path
) -> Iterator[tuple[GatewayProcesses, GatewayProcesses]]:
    """Gateway and reader processes (started by the test) on an engine process per shard."""
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")
    gateways = GatewayProcesses(deployment_file, nats_single.urls, layout, tmp_path)
    readers = GatewayProcesses(deployment_file, nats_single.urls, layout, tmp_path, "reader")
    with engine_processes(deployment_file, nats_single.urls, layout, tmp_path):
        try:
            yield gateways, readers
        finally:
            readers.close()
            gateways.close()


def test_the_reader_serves_both_shards_orders_and_fills_and_the_same_after_a_restart(
    nats_single: NatsCluster,
    layout: StreamLayout,
    deployment: Deployment,
    processes: tuple[GatewayProcesses, GatewayProcesses],
    tmp_path: Path,
) -> None:
    btc, eth = deployment.market("BTC-PERP"), deployment.market("ETH-PERP")
    assert layout.shard_of(MarketId(btc.id)) != layout.shard_of(MarketId(eth.id))
    gateways, readers = processes
    gateway_url = gateways.start("gateway-0", free_port())
    reader = Reader(readers, gateway_url)
    reader.start()  # before the orders: it applies them live
    maker = deployment.wallet(Role.MAKER).address
    taker = deployment.wallet(Role.TRADER).address

    async def trade() -> None:
        async with (
            client(gateway_url, deployment, Role.MAKER, tmp_path / "maker") as maker_client,
            client(gateway_url, deployment, Role.TRADER, tmp_path / "trader") as taker_client,
        ):
            await maker_client.place("BTC-PERP", "sell", "0.05", "100000", client_id="ask")
            await maker_client.place("ETH-PERP", "sell", "1", "3000")
            await taker_client.place("BTC-PERP", "buy", "0.02", "100010")

    asyncio.run(trade())

    # both shards' books, the maker's open orders on both, the trade and both sides' fills
    book = reader.until("/markets/BTC-PERP/book", lambda b: b["asks"] == [["100000", "0.03"]])
    assert book["bids"] == []
    assert reader.ok("/markets/ETH-PERP/book")["asks"] == [["3000", "1"]]
    orders = reader.until(f"/accounts/{maker}/open-orders", lambda o: len(o) == 2)
    assert {(o["market"], o["remaining"]) for o in orders} == {
        ("BTC-PERP", "0.03"),
        ("ETH-PERP", "1"),
    }
    [trade_seen] = reader.ok("/markets/BTC-PERP/trades")
    assert (trade_seen["price"], trade_seen["size"], trade_seen["side"]) == (
        "100000",
        "0.02",
        "buy",
    )
    [taker_fill] = reader.ok(f"/accounts/{taker}/fills")["events"]
    [maker_fill] = reader.ok(f"/accounts/{maker}/fills")["events"]
    assert (taker_fill["size"], taker_fill["maker"]) == ("0.02", False)
    assert (maker_fill["price"], maker_fill["maker"]) == ("100000", True)
    assert reader.ok("/accounts/" + maker + "/client-orders/ask")["filled"] == "0.02"
    # the fill is pending (no settlement runs here): the position manager counts it
    positions = reader.ok(f"/accounts/{taker}")["positions"]
    assert [(p["market"], p["size"]) for p in positions] == [("BTC-PERP", "0.02")]

    async def sdk_reads() -> None:  # the SDK's HTTP reads, sent to the reader
        key = deployment.wallet(Role.MAKER).private_key
        assert key is not None
        sdk = Client.connect(
            gateway_url, key, deployment, state_dir=tmp_path / "maker", http_url=reader.url
        )
        async with sdk:
            assert {o.market for o in await sdk.open_orders()} == {"BTC-PERP", "ETH-PERP"}
            [fill] = (await sdk.fills()).items
            assert fill.size == Decimal("0.02")

    asyncio.run(sdk_reads())

    health = reader.ok("/health")
    assert [s["shard"] for s in health["shards"]] == layout.all_shards
    assert all(s["seq"] > 0 for s in health["shards"])
    assert health["ok"], health
    # on the status board, as `perpdex cluster status` shows it (reported once a second):
    # the replicas' seqs summed, nothing left to apply
    applied = sum(s["seq"] for s in health["shards"])
    deadline = time.monotonic() + WAIT_S
    while True:
        board = _cluster_status(nats_single, layout, "reader")
        if board["seq"] >= applied and board["lag"] == 0:
            break
        assert time.monotonic() < deadline, board
        time.sleep(0.5)
    assert (board["role"], board["state"]) == ("reader", "running")

    # each shard's journal, paged from its stream to the head its replica reached
    for shard in health["shards"]:
        page = reader.ok(f"/journal?shard={shard['shard']}&limit=1000")
        assert [e["seq"] for e in page["entries"]] == list(range(1, page["head"]["seq"] + 1))
        assert page["head"]["seq"] >= shard["seq"]
    status, refused = reader.get(f"/journal?shard={layout.shards}")
    assert status == HTTPStatus.NOT_FOUND and refused["code"] == "not_found"
    # the web app's configuration sends orders to the gateway
    assert reader.ok("/config")["gatewayUrl"] == gateway_url
    built = (STATIC_DIR / PAGES["/"]).is_file()
    assert reader.get("/")[0] == (HTTPStatus.OK if built else HTTPStatus.SERVICE_UNAVAILABLE)

    # no route answers a 5xx, whatever it is asked of these accounts and markets
    paths = [path for path, item in reader.ok("/openapi.json")["paths"].items() if "get" in item]
    ids = {"order_hash": maker_fill["orderHash"], "client_id": "ask"}
    for path in paths:
        for values in ({"market": "BTC-PERP", "address": maker}, {"market": "9", "address": taker}):
            concrete = path.format(**values, **ids)
            status, body = reader.get(concrete)
            assert status < HTTPStatus.INTERNAL_SERVER_ERROR, (concrete, status, body)

    # SIGKILLed and started again, it rebuilds the same from the journals
    before = {path: reader.ok(path) for path in _stable_reads(maker, taker)}
    fills_before = {who: _fills(reader, who) for who in (maker, taker)}
    reader.kill()
    reader.start()
    for path, seen in before.items():
        assert reader.ok(path) == seen, path
    assert {who: _fills(reader, who) for who in (maker, taker)} == fills_before
    after = reader.ok("/health")["shards"]
    assert [s["seq"] for s in after] >= [s["seq"] for s in health["shards"]]


def _cluster_status(nats: NatsCluster, layout: StreamLayout, name: str) -> dict[str, Any]:
    """``name``'s row of ``perpdex cluster status --json``."""
    out = io.StringIO()
    argv = ["cluster", "status", "--nats", nats.url(0), "--prefix", layout.prefix, "--json"]
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    [row] = [row for row in json.loads(out.getvalue()) if row["name"] == name]
    found: dict[str, Any] = row
    return found


def _fills(reader: Reader, account: str) -> list[dict[str, Any]]:
    """The account's fills but their ``accountSeq``, which follows the order in which the
    shards' entries reached the replicas (docs/architecture.md)."""
    events = reader.ok(f"/accounts/{account}/fills")["events"]
    return [{k: v for k, v in event.items() if k != "accountSeq"} for event in events]


def _stable_reads(maker: str, taker: str) -> list[str]:
    """Reads whose answer no later journal entry changes here (no order comes after)."""
    return [
        "/markets/BTC-PERP/book",
        "/markets/ETH-PERP/book",
        "/markets/BTC-PERP/trades",
        "/markets/BTC-PERP/candles",
        f"/accounts/{maker}/open-orders",
        f"/accounts/{maker}/orders",
        f"/accounts/{taker}/orders",
    ]
