"""``perpdex sim cascade --feedback`` end to end on anvil, with a small book: the index
follows the engine's book, which the keeper's forced sales move."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from perpdex.cli.main import main
from perpdex.core.units import to_size_units
from perpdex.sim.cascade.book import Depth
from perpdex.sim.cascade.feedback import Feedback
from perpdex.sim.cascade.metrics import feedback_summary
from perpdex.sim.cascade.simulate import POLICIES, FeedbackParams, Params, feedback_policy

SCENARIO = ["--traders", "6", "--seed", "2", "--drop", "6", "--depth", "0.1"]
"""docs/simulations.md, "Liquidation cascade with feedback": the small run."""


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    plot = tmp_path_factory.mktemp("feedback") / "cascade.png"
    with redirect_stdout(io.StringIO()) as out:
        code = main(["sim", "cascade", "--feedback", *SCENARIO, "--plot", str(plot)])
    assert code == 0
    return json.loads(out.getvalue()), plot


def test_both_policies_report_the_drawdown_the_book_and_a_plot(
    ran: tuple[dict[str, Any], Path],
) -> None:
    report, plot = ran
    assert set(report) == {"tiered", "full"}
    for figures in report.values():
        assert figures["at_rest"] and figures["keeper_unsold"] == 0
        assert figures["params"]["feedback_weight"] == 1.0
        assert figures["params"]["book"]["bid_btc_within_50_bps"] == pytest.approx(3.25)
        assert sum(figures["forced_volume_by_level"].values()) == pytest.approx(
            figures["forced_volume"]
        )
    assert report["full"]["partial_steps"] == 0 and report["full"]["liquidations"] > 0
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_the_liquidations_take_the_index_below_the_external_path(
    ran: tuple[dict[str, Any], Path],
) -> None:
    report, _ = ran
    for figures in report.values():
        assert figures["book_sales"] > 0
        assert figures["index_low"] < figures["external_low"]
        assert figures["index_final"] < figures["external_final"]
        assert figures["drawdown_from_liquidations_pct"] > 0
        assert figures["index_drawdown_pct"] > figures["external_drawdown_pct"]


def test_a_forced_sale_moves_the_next_index(ran: tuple[dict[str, Any], Path]) -> None:
    report, _ = ran
    for figures in report.values():
        rounds = figures["by_round"]
        first_sale = next(i for i, r in enumerate(rounds) if r["sold"] > 0)
        # until the keeper sells, the index is the external path to the tick
        assert all(r["index"] == r["external"] for r in rounds[: first_sale + 1])
        assert rounds[first_sale]["liquidated"] > 0
        assert rounds[first_sale + 1]["index"] < rounds[first_sale + 1]["external"]


def test_tiered_saves_accounts_full_close_does_not(ran: tuple[dict[str, Any], Path]) -> None:
    report, _ = ran
    tiered, full = report["tiered"], report["full"]
    assert tiered["accounts_saved"] >= full["accounts_saved"]
    assert tiered["accounts_saved"] > 0 and full["accounts_saved"] == 0
    assert tiered["forced_volume"] < full["forced_volume"]


def test_a_seed_gives_the_same_feedback_run(ran: tuple[dict[str, Any], Path]) -> None:
    report, _ = ran
    params = Params(traders=6, seed=2, drop_ppm=60_000)
    feedback = FeedbackParams(Feedback(1_000_000), Depth(to_size_units("0.1")))
    tiered = next(p for p in POLICIES if p.name == "tiered")

    again = feedback_summary(feedback_policy(tiered, params, feedback))

    expected = {k: v for k, v in report["tiered"].items() if k != "params"}
    assert json.loads(json.dumps(again)) == expected
