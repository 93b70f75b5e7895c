"""`perpdex demo`'s options: the live demo's and the one-shot's are not mixed (refused before
anything starts: no anvil, no deployment file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perpdex.cli.main import main


@pytest.mark.parametrize(
    "options",
    [["--once", "--duration", "5"], ["--once", "--state-dir", "state"], ["--keep-running"]],
)
def test_options_of_the_other_mode_are_refused(
    options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "local.json"
    assert main(["demo", "--out", str(out), *options]) == 2
    assert "error:" in capsys.readouterr().err
    assert not out.exists()
