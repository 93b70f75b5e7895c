"""The clean case: ``perpdex sim market``'s bots trade through the real node on a real
anvil (signed orders, a crash, liquidations, the keeper's hedges, settlement, checkpoints);
then anyone's ``perpdex audit``, reading the journal page by page from the node's HTTP API,
finds nothing wrong, accounts for every fill, and every receipt the bots kept agrees."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from perpdex.chain.deployment import Deployment, write_deployment
from perpdex.cli.main import main
from perpdex.services.node import Node
from perpdex.sim.market.report import report
from perpdex.sim.market.scenario import MarketParams, run_market


def test_a_sim_market_run_passes_the_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPDEX_STATE_DIR", str(tmp_path / "keeper-nonces"))
    audited: dict[str, Any] = {}

    def audit(node: Node, deployment: Deployment) -> None:
        # the deployment as `perpdex up` writes it: the audit finds the node's API there
        served = replace(deployment, gateway_url=node.gateway.url, web_url=node.http.url)
        path = write_deployment(served, tmp_path / "deployment.json")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            # every receipt the gateway signed for the bots, as their SDK clients kept them
            receipts = node.config.state_dir.parent / "nonces" / "receipts"
            argv = ["audit", "--deployment", str(path), "--receipts", str(receipts), "--json"]
            audited["code"] = main(argv)
        audited["report"] = json.loads(out.getvalue())

    params = MarketParams(seed=2, crash_at_s=6.0, after_s=10.0, takers=2, crowd=3)
    figures = report(run_market(params, after_drain=audit))

    assert audited["code"] == 0, audited["report"]
    summary = audited["report"]["summary"]
    assert summary["commands"] > 50
    assert summary["fills"] == figures["fills"] > 10
    assert summary["settled"] == figures["fills_settled"]
    assert summary["rejected"] + summary["dropped"] == figures["fills_rejected"]
    assert summary["pending"] == 0
    assert summary["receipts"] > 50 and audited["report"]["notRun"] == []
    assert summary["signatures"] >= summary["receipts"]  # every order, and every amend
    assert summary["checkpointsChecked"] == summary["checkpoints"] >= 1
