"""The node's own reads on a real node on anvil: /health (services, how far each stage
is), /metrics in Prometheus' format, the operator's window on settlement, funding and the
insurance fund, and the journal paged for auditors, each page re-hashed to its head."""

from __future__ import annotations

import time
from typing import Any

from eth_hash.auto import keccak
from prometheus_client.parser import text_string_to_metric_families
from tests.integration.http.conftest import Served

from perpdex.chain.deployment import Role
from perpdex.core.types import TimeInForce

TIMEOUT_S = 20.0


def _until(served: Served, path: str, done: Any) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        body = served.ok(path)
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def _trade(served: Served) -> None:
    async def trade() -> None:
        async with served.client(Role.MAKER) as maker, served.client(Role.TRADER) as trader:
            await maker.place("ETH-PERP", "sell", "1", "3000")
            await trader.place("ETH-PERP", "buy", "1", "3000")
            await trader.place("ETH-PERP", "buy", "0.01", "1", time_in_force=TimeInForce.POST_ONLY)

    served.run(trade())


def test_health_metrics_and_the_operator_window_follow_a_settled_trade(served: Served) -> None:
    _trade(served)
    health = _until(
        served,
        "/health",
        lambda h: h["ok"] and h["settledSeq"] == h["durableSeq"] and h["checkpointedSeq"],
    )
    assert health["ok"] is True
    services = {s["name"]: s["running"] for s in health["services"]}
    assert services == dict.fromkeys(
        ["engine", "gateway", "http", "position manager", "settlement", "keeper", "chain status"],
        True,
    )
    assert health["journalSeq"] >= 3 and health["chainError"] is None
    assert 0 <= health["chainHeadLag"] <= 50

    settlement = _until(served, "/operator/settlement", lambda s: s["batches"] != [])
    (batch,) = settlement["batches"]
    assert (batch["fills"], batch["settled"]) == (1, 1)
    assert batch["gasPerFill"] == batch["gasUsed"] > 21_000
    assert batch["txHash"].startswith("0x") and settlement["refused"] == []

    metrics = {
        sample.name: sample.value
        for family in text_string_to_metric_families(served.get_text("/metrics"))
        for sample in family.samples
    }
    assert metrics["perpdex_orders_total"] >= 2
    assert metrics["perpdex_fills_total"] == 1
    assert metrics["perpdex_settle_transactions_total"] == 1
    assert metrics["perpdex_settle_gas_total"] == batch["gasUsed"]
    assert metrics["perpdex_settled_fills_total"] == 1
    assert metrics["perpdex_insurance_fund_usdc"] >= 0
    assert metrics["perpdex_settlement_lag_commands"] >= 0
    assert metrics["perpdex_liquidations_total"] == 0

    funding = served.ok("/operator/funding")
    assert [f["market"] for f in funding] == ["BTC-PERP", "ETH-PERP"]
    assert all(f["intervalS"] == 3600 for f in funding)
    fund = served.ok("/operator/insurance-fund")
    assert fund["balance"] is not None and fund["block"] >= 1
    status, body = served.get("/operator/keeper?kind=bribe")
    assert (status, body["code"]) == (422, "malformed")


def test_the_journal_pages_chain_to_its_head(served: Served) -> None:
    _trade(served)
    whole = served.ok("/journal?limit=1000")
    entries = whole["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[-1]["head"] == whole["head"]["head"]
    head = bytes(32)
    for entry in entries:  # what an auditor does: re-hash every entry
        head = keccak(head + bytes.fromhex(entry["entry"][2:]))
        assert "0x" + head.hex() == entry["head"]
    assert {"NewOrder"} <= {e["command"] for e in entries}
    paged: list[Any] = []
    while len(paged) < len(entries):  # each page from the last one's head
        paged += served.ok(f"/journal?from={len(paged) + 1}&limit=2")["entries"]
    assert paged == entries
    assert served.ok(f"/journal?from={len(entries) + 1}")["entries"] == []
    assert served.ok("/journal?shard=0&limit=1000") == whole  # the one engine is shard 0
    status, body = served.get("/journal?shard=1")
    assert (status, body["code"]) == (404, "not_found")
    assert "one engine, shard 0" in body["message"]
    for bad in ("/journal?from=0", "/journal?limit=1001", "/journal?from=x"):
        status, body = served.get(bad)
        assert (status, body["code"]) == (422, "malformed"), bad
