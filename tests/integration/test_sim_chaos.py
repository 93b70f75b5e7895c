"""``perpdex sim chaos``, short: bots trade through a real ``perpdex up`` subprocess on a
real anvil while the node is SIGKILLed three times and restarted; every invariant is computed
from the journal, the chain's events, the bots' SDK streams and the gateway's views."""

from __future__ import annotations

from typing import Any

import pytest

from perpdex.sim.chaos.report import report
from perpdex.sim.chaos.scenario import ChaosParams, run_chaos

PARAMS = ChaosParams(kills=3, seed=1, duration_s=25.0, takers=2, crowd=1)


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    return report(PARAMS, run_chaos(PARAMS))


def test_the_node_was_killed_mid_trading(figures: dict[str, Any]) -> None:
    assert len(figures["kills"]) == PARAMS.kills
    assert figures["acked"] > 50
    assert figures["fills_settled"] > 20


def test_no_acknowledged_order_is_lost_across_kills(figures: dict[str, Any]) -> None:
    assert figures["lost"] == 0


def test_no_fill_settles_twice_across_kills(figures: dict[str, Any]) -> None:
    assert figures["settled_twice"] == 0


def test_every_matched_fill_settles_or_is_rejected(figures: dict[str, Any]) -> None:
    assert figures["fills_never_settled"] == 0


def test_no_rejected_fill_goes_unreported_across_kills(figures: dict[str, Any]) -> None:
    assert figures["unreported_rejections"] == 0


def test_account_streams_miss_no_settled_fill_across_kills(figures: dict[str, Any]) -> None:
    assert figures["stream_gaps"] == 0


def test_the_gateway_view_equals_the_chain_after_kills(figures: dict[str, Any]) -> None:
    assert figures["offchain_equals_chain"], figures["differences"]


def test_anyones_audit_finds_nothing_across_kills(figures: dict[str, Any]) -> None:
    assert figures["audit_ok"], figures["audit"]
    summary = figures["audit"]["summary"]
    assert summary["settled"] == figures["fills_settled"] and summary["pending"] == 0
    assert summary["receipts"] > 50
