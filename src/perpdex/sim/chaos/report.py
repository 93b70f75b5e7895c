"""A chaos run's figures as one JSON object: the invariants (:mod:`.metrics`) first, then
what they were computed from, so a failing figure can be traced."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from perpdex.sim.chaos import metrics
from perpdex.sim.chaos.memory import disk_figures, series_figures
from perpdex.sim.chaos.scenario import ChaosParams, Evidence

INVARIANTS = ("lost", "settled_twice", "unreported_rejections", "stream_gaps")
"""Figures that must be 0 (and ``offchain_equals_chain`` true) for the run to pass."""


def report(params: ChaosParams, evidence: Evidence) -> dict[str, Any]:
    never_settled = metrics.dropped(evidence.journal.values(), evidence.settled, evidence.rejected)
    refused = metrics.refused(evidence.settled, evidence.rejected)
    figures: dict[str, Any] = {
        "acked": len(set(evidence.acked)),
        "lost": metrics.lost(evidence.acked, evidence.journaled),
        "settled_twice": metrics.settled_twice(evidence.settled),
        "unreported_rejections": metrics.unreported_rejections(
            evidence.journal, refused, never_settled, evidence.received
        ),
        "stream_gaps": metrics.stream_gaps(evidence.settled, evidence.received),
        "offchain_equals_chain": not evidence.differences,
        "audit_ok": evidence.audit.get("ok", False),
        "audit": {key: evidence.audit.get(key) for key in ("summary", "first", "notRun")},
        "kills": evidence.kills,
        "restart_s": _spread(evidence.restarts),
        "seed": params.seed,
        "fills_journaled": len(evidence.journal),
        "fills_settled": len(evidence.settled),
        "fills_rejected": len(refused),
        "rejections_by_reason": dict(Counter(r.reason.value for r in evidence.rejected)),
        "rejections_of_settled_fills": sum(1 for r in evidence.rejected if r.key not in refused),
        "fills_never_settled": len(never_settled),
        "stream_fills": sum(len(r.fills) for r in evidence.received.values()),
        "stream_rejections": sum(len(r.rejected) for r in evidence.received.values()),
        "stream_rejections_by_reason": dict(
            sum((r.reasons for r in evidence.received.values()), Counter[str]())
        ),
        "orders": evidence.bots,
        "differences": evidence.differences,
        "timings": {name: round(value, 1) for name, value in evidence.timings.items()},
    }
    if evidence.memory:
        figures["memory"] = series_figures(evidence.memory)
        figures["state_dir"] = disk_figures(evidence.memory)
    return figures


def passed(figures: dict[str, Any]) -> bool:
    return (
        all(figures[name] == 0 for name in INVARIANTS)
        and figures["offchain_equals_chain"]
        and figures["audit_ok"]
    )


def _spread(seconds: list[float]) -> dict[str, float] | None:
    if not seconds:
        return None
    return {"mean": round(statistics.fmean(seconds), 1), "max": round(max(seconds), 1)}
