"""`perpdex up`'s logs on a real anvil: the node's start and a fill the chain rejects reach
the operator's log, once, as timestamped JSON lines with their cause."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.node_testing import maker_and_trader, settling_by_hand, until

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment
from perpdex.cli.up import fresh_deployment
from perpdex.logs import configure_logging
from perpdex.settlement.outcomes import RejectReason

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging("info", "json")  # what `perpdex up --log-format json` sets
    yield
    configure_logging("warning", "text")


def test_settlement_rejection_is_logged_once_with_its_cause(
    deployment: Deployment,
    tmp_path: Path,
    json_logs: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def scenario() -> None:
        async with (
            settling_by_hand(deployment, tmp_path / "state") as node,
            maker_and_trader(node, tmp_path) as (maker, taker),
        ):
            await maker.place("BTC-PERP", "sell", "0.01", "100000")
            bid = await taker.place("BTC-PERP", "buy", "0.01", "100000")
            await until(lambda: len(node.runner.unsettled()) == 1, "the match")
            await taker.cancel_all_on_chain()  # the chain will refuse the fill
            await until(
                lambda: node.pm.ledger.nonces.is_closed(taker.address, bid.nonce),
                "the fold of the new floor",
            )
            report = await node.runner.settle_once()
            assert report is not None and len(report.rejected) == 1

    asyncio.run(scenario())
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert all(TIMESTAMP.fullmatch(entry["ts"]) for entry in entries)
    started = [e for e in entries if e["message"].startswith("node started on chain")]
    assert len(started) == 1 and started[0]["level"] == "info"
    rejected = [e for e in entries if "fill rejected" in e["message"]]
    assert len(rejected) == 1
    assert rejected[0]["level"] == "warning"
    assert rejected[0]["logger"] == "perpdex.services.reconcile"
    assert RejectReason.ORDER_CLOSED.value in rejected[0]["message"]
    assert entries[-1]["message"] == "node stopped"
