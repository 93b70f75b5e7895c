"""``perpdex sim cascade`` end to end on anvil, with a small book: both policies run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perpdex.cli.main import main


def test_the_cascade_runs_both_policies_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "cascade.png"

    code = main(["sim", "cascade", "--traders", "6", "--seed", "2", "--plot", str(plot)])

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"tiered", "full"}
    keys = {
        "liquidations",
        "forced_volume",
        "worst_price",
        "insurance_draw",
        "bad_debt",
        "accounts_saved",
        "max_blocks_to_liquidation",
        "forced_volume_by_price",
    }
    tiered, full = report["tiered"], report["full"]
    assert keys <= set(tiered) and keys <= set(full)
    assert full["liquidations"] > 0 and full["partial_steps"] == 0
    assert tiered["accounts_saved"] >= full["accounts_saved"]
    assert full["forced_volume"] >= tiered["forced_volume"]
    # blocks to liquidation under one-second blocks is a measured figure that a loaded
    # machine moves (docs/performance.md; test_keeper checks the keeper's part of it with
    # blocks mined by hand): here, that every account stepped has one, a block or more
    # after the price that put it below maintenance, and that the worst is reported
    for run in (tiered, full):
        latencies = run["blocks_to_liquidation"]
        assert len(latencies) == run["accounts_liquidated"] > 0
        assert min(latencies.values()) >= 1
        assert run["max_blocks_to_liquidation"] == max(latencies.values())
    assert plot.read_bytes().startswith(b"\x89PNG")
