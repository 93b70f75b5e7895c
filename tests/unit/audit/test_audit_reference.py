"""The reference matcher, written apart from the engine, agrees with it fill for fill on
random workloads of every command (trigger orders, amends, STP, reduce-only, expiry,
dead-man switches, chain cancels), so the priority check passes an honest journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.audit.audit_testing import audit, write_journal
from tests.unit.engine.engine_workloads import mixed_commands


@pytest.mark.parametrize("seed", range(12))
def test_the_reference_gives_the_engines_fills(tmp_path: Path, seed: int) -> None:
    path = write_journal(tmp_path / "j.bin", mixed_commands(seed, 1_500))

    report = audit(path, domain=None)

    assert report.ok, report.text()
    assert report.summary.commands == 1_500
    assert report.summary.fills > 50
    assert report.summary.last_seq == 1_500
