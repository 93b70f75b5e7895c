"""`perpdex sim amm-vs-book`: the JSON it prints and the PNG it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from perpdex.cli.main import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
KEYS = {
    "notional",
    "book_slippage_bps",
    "amm_slippage_bps",
    "book_filled",
    "book_levels_consumed",
    "amm_price_impact_usd",
    "params",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main(["sim", "amm-vs-book", *argv]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_default_is_500000_with_a_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "out" / "amm.png"
    [result] = run(capsys, "--plot", str(plot))
    assert result.keys() >= KEYS
    assert result["notional"] == 500000
    assert result["book_filled"] is True
    assert result["amm_price_impact_usd"] == 37.5  # GMX BTC factor 1.5e-10 * 500,000^2
    assert result["amm_slippage_bps"] == pytest.approx(0.75, abs=0.01)
    assert 0 < result["book_slippage_bps"] < 10
    assert result["params"]["seed"] == 1
    assert plot.read_bytes().startswith(PNG_MAGIC)


def test_notional_seed_side_and_sweep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = str(tmp_path / "p.png")
    [small] = run(capsys, "--notional", "20000", "--seed", "3", "--side", "sell", "--plot", plot)
    assert small["notional"] == 20000 and small["side"] == "sell"
    assert small["book_levels_consumed"] == 1
    swept = run(capsys, "--sweep", "--notional", "123456.5", "--plot", plot)
    notionals = [row["notional"] for row in swept]
    assert 123456.5 in notionals and notionals == sorted(notionals)
    big = run(capsys, "--notional", "200000000", "--plot", plot)[0]
    assert big["book_filled"] is False  # deeper than the whole ladder


def test_a_skewed_pool_charges_more(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = str(tmp_path / "p.png")
    [skewed] = run(capsys, "--amm-skew", "10000000", "--plot", plot)
    # 1.5e-10 * (10.5M^2 - 10M^2) = 1537.5 USD
    assert skewed["amm_price_impact_usd"] == 1537.5


@pytest.mark.parametrize("notional", ["abc", "0", "-5", "1.0000001", "1"])
def test_bad_notional_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, notional: str
) -> None:
    argv = ["sim", "amm-vs-book", "--notional", notional, "--plot", str(tmp_path / "p.png")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "perpdex sim amm-vs-book:" in captured.err
    assert not (tmp_path / "p.png").exists()


def test_the_installed_command(tmp_path: Path) -> None:
    plot = tmp_path / "p.png"
    command = [sys.executable, "-m", "perpdex.cli.main", "sim", "amm-vs-book", "--plot", str(plot)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    assert json.loads(out)["notional"] == 500000
    assert plot.exists()
