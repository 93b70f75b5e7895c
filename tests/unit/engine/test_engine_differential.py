"""The engine against a naive reference matcher, through the benchmark's own entry point."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from tests.unit.engine.engine_reference import Fill, bench_rows, reference_fills

from perpdex.bench import engine as bench


def run_bench(tmp_path: Path, rows: list[dict[str, Any]], *extra: str) -> list[Fill]:
    orders = tmp_path / "orders.jsonl"
    orders.write_text("".join(json.dumps(row) + "\n" for row in rows))
    fills_out = tmp_path / "fills.jsonl"
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--orders", str(orders), "--fills", str(fills_out), *extra])
    assert bench.run(args) == 0
    fills = [
        (f["taker"], f["maker"], f["price"], f["size"])
        for f in map(json.loads, fills_out.read_text().splitlines())
    ]
    return fills


@pytest.mark.parametrize("seed", range(6))
def test_engine_fills_equal_the_reference(tmp_path: Path, seed: int) -> None:
    rows = bench_rows(seed, 2_000)
    expected = reference_fills(rows)
    assert len(expected) > 200  # the workload really trades
    assert run_bench(tmp_path, rows) == expected


def test_bench_prints_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = bench_rows(42, 500)
    run_bench(tmp_path, rows, "--journal", str(tmp_path / "journal.bin"))
    figures = json.loads(capsys.readouterr().out)
    assert figures["orders"] == 500
    assert figures["fills"] == len(reference_fills(rows))
    assert figures["journal_seq"] == 500
    for key in ("ops_per_s", "p50_us", "p99_us", "p999_us"):
        assert figures[key] > 0
    assert figures["p50_us"] <= figures["p99_us"] <= figures["p999_us"]
