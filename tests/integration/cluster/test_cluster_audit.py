"""Anyone audits a cluster over HTTP: a real nats-server and anvil, a ``perpdex engine
--shard K`` process per shard, a ``perpdex gateway``, ``perpdex settlement``, the cluster
``perpdex keeper`` posting each shard's head to its checkpoint log, and a ``perpdex reader``
serving each shard's journal from its stream. Orders cross on both shards and settle; then
``perpdex audit --journal <reader> --shard K --receipts DIR`` passes for each shard (the
traders' receipts of shard K checked, the others' set aside), and one shard's journal
passed off as the other's is caught by the other's checkpoints."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from tests.integration.cluster.gateway_testing import GatewayProcesses, engine_processes
from tests.integration.cluster.test_gateway_processes import client, free_port
from tests.integration.cluster.test_settlement_process import settlement_process

from perpdex.audit.audit import deployment_setup, run_audit
from perpdex.audit.findings import Check
from perpdex.audit.source import http_entries
from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Role, write_deployment
from perpdex.chain.transact import connect as web3_connect
from perpdex.cli.main import main
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.core.types import MarketId
from perpdex.keeper.checkpoint import latest_checkpoint

prefixes = (f"aud{n}" for n in itertools.count())
WAIT_S = 60.0
ROUNDS = 2  # crossing pairs per market


def keeper_process(
    deployment_file: Path, urls: list[str], layout: StreamLayout, log: Path
) -> subprocess.Popen[bytes]:
    """``perpdex keeper --nats``: only the checkpoint task, twice a second."""
    argv = [
        sys.executable, "-m", "perpdex.cli.main", "keeper",
        "--deployment", str(deployment_file), "--nats", ",".join(urls),
        "--shards", str(layout.shards), "--replicas", str(layout.replicas),
        "--prefix", layout.prefix, "--tasks", "checkpoint", "--checkpoint-interval", "0.5",
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {WAIT_S} s"
        time.sleep(0.3)


def audit(
    deployment_file: Path, reader_url: str, shard: int, *extra: str
) -> tuple[int, dict[str, Any]]:
    """``perpdex audit --journal <reader> --shard K --json``: its exit code and report."""
    out = io.StringIO()
    argv = ["audit", "--deployment", str(deployment_file), "--journal", reader_url, *extra]
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--shard", str(shard), "--json"])
    report: dict[str, Any] = json.loads(out.getvalue())
    return code, report


def test_each_shard_of_a_cluster_passes_the_audit_of_its_journal_served_by_the_reader(
    anvil: Anvil, nats_single: NatsCluster, tmp_path: Path
) -> None:
    deployment = fresh_deployment(anvil.rpc_url)
    layout = StreamLayout(shards=2, prefix=next(prefixes))
    btc, eth = deployment.market("BTC-PERP"), deployment.market("ETH-PERP")
    assert {layout.shard_of(MarketId(btc.id)), layout.shard_of(MarketId(eth.id))} == {0, 1}
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")
    urls = nats_single.urls
    web3 = web3_connect(deployment.rpc_url)
    contracts = bind(web3, deployment)

    async def trade(url: str) -> None:
        async with (
            client(url, deployment, Role.MAKER, tmp_path / "maker") as maker,
            client(url, deployment, Role.TRADER, tmp_path / "trader") as trader,
        ):
            for market, size, price in [
                ("BTC-PERP", "0.001", "100000"),
                ("ETH-PERP", "0.01", "2000"),
            ]:
                for _ in range(ROUNDS):
                    await maker.place(market, "sell", size, price)
                    await trader.place(market, "buy", size, price)

    with engine_processes(deployment_file, urls, layout, tmp_path):
        gateways = GatewayProcesses(deployment_file, urls, layout, tmp_path)
        readers = GatewayProcesses(deployment_file, urls, layout, tmp_path, "reader")
        services = [
            settlement_process(deployment_file, urls, layout, tmp_path / "settlement.log"),
            keeper_process(deployment_file, urls, layout, tmp_path / "keeper.log"),
        ]
        try:
            gateway_port, reader_port = free_port(), free_port()
            gateway_url = f"ws://127.0.0.1:{gateway_port}"
            with ThreadPoolExecutor(1) as pool:  # the reader starts while orders are placed
                reader = pool.submit(
                    readers.start, "reader", reader_port, "--gateway-url", gateway_url
                )
                gateways.start("gateway-0", gateway_port)
                asyncio.run(trade(gateway_url))
                reader.result()
            reader_url = f"http://127.0.0.1:{reader_port}"

            def heads() -> list[int]:
                """Each shard's durable head, as the reader serves it."""
                pages = [_page(reader_url, shard) for shard in layout.all_shards]
                return [page["head"]["seq"] for page in pages]

            def settled() -> bool:
                filled = contracts.exchange.events.Filled().get_logs(
                    from_block=deployment.start_block
                )
                return len(filled) == 2 * ROUNDS

            def committed() -> bool:
                posted = [
                    latest_checkpoint(contracts.checkpoints, ShardId(shard)).seq
                    for shard in layout.all_shards
                ]
                return posted == heads()

            until(settled, "fills settled")
            until(committed, "checkpoint of each shard's head")

            # each shard's journal, from the reader, against that shard's checkpoints
            for shard in layout.all_shards:
                code, report = audit(
                    deployment_file, reader_url, shard, "--receipts", str(tmp_path)
                )
                assert (code, report["ok"]) == (0, True), report
                summary = report["summary"]
                assert summary["shard"] == shard
                assert summary["commands"] == summary["lastSeq"] == heads()[shard]
                assert summary["fills"] == ROUNDS
                assert summary["checkpoints"] == summary["checkpointsChecked"] >= 1
                assert summary["unchecked"] == 0
                # every order's receipt of this shard agrees; the other shard's set aside
                assert summary["receipts"] == 2 * ROUNDS
                aside = [note for note in report["notRun"] if "not the audited shard" in note]
                assert len(aside) == 2 * ROUNDS
                assert any("settlement" in reason for reason in report["notRun"])

            # shard 0's journal passed off as shard 1's: a valid chain, not the committed one
            forged = run_audit(
                partial(http_entries, reader_url, shard=0),
                deployment_setup(deployment, web3, shard=ShardId(1)),
            )
            assert not forged.ok
            assert forged.first is not None and forged.first.check == Check.CHECKPOINT, forged
            assert "is not the committed" in forged.first.detail
        finally:
            stopping = [*services, *readers.processes.values(), *gateways.processes.values()]
            for process in stopping:  # all at once: each takes seconds to stop
                process.terminate()
            for service in services:
                service.wait(30)
            readers.close()
            gateways.close()
    assert b"Traceback" not in (tmp_path / "reader.log").read_bytes()


def _page(reader_url: str, shard: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"{reader_url}/journal?shard={shard}&limit=1", timeout=10) as r:
        page: dict[str, Any] = json.loads(r.read())
    return page
