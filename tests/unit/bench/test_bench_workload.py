"""perpdex.bench.workload: the engine benchmark's workload, generated inside the project."""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from tests.unit.engine.engine_reference import reference_fills

from perpdex.bench import workload
from perpdex.cli.main import main

REPO = Path(__file__).resolve().parents[3]


def test_make_bench_reads_nothing_outside_the_repository() -> None:
    bench = re.search(r"^bench:.*?(?=^\S)", (REPO / "Makefile").read_text(), re.M | re.S)
    assert bench is not None
    assert "perpdex bench gen-orders" in bench.group(0)
    assert "../" not in bench.group(0)


def test_same_seed_same_workload_other_seed_other_workload() -> None:
    first = list(workload.commands(5_000, seed=3))
    assert list(workload.commands(5_000, seed=3)) == first
    assert list(workload.commands(5_000, seed=4)) != first


def test_cancels_name_only_orders_that_could_rest_and_each_once() -> None:
    resting: set[int] = set()
    cancelled: set[int] = set()
    for command in workload.commands(20_000, seed=1):
        if command["op"] == "cancel":
            assert command["id"] in resting
            assert command["id"] not in cancelled
            cancelled.add(command["id"])
        elif command["tif"] in ("GTC", "POST_ONLY"):
            resting.add(command["id"])


def test_the_mix_is_a_market_makers_day() -> None:
    rows = list(workload.commands(50_000, seed=1, accounts=10))
    new = [r for r in rows if r["op"] == "new"]
    assert [r["id"] for r in new] == list(range(1, len(new) + 1))
    assert 0.27 < (len(rows) - len(new)) / len(rows) < 0.31  # cancels
    tifs = Counter(r["tif"] for r in new)
    # of new orders (about 70% of commands): 71% passive or far GTC, 6% post-only, 11%
    # takers half IOC, 3% FOK
    assert 0.05 < tifs["POST_ONLY"] / len(new) < 0.07
    assert 0.05 < tifs["IOC"] / len(new) < 0.07
    assert 0.02 < tifs["FOK"] / len(new) < 0.035
    assert {r["account"] for r in new} == set(range(10))
    assert set(Counter(r["size"] for r in new)) == set(workload.SIZES)


def test_the_engine_matches_the_generated_workload_like_the_reference(tmp_path: Path) -> None:
    rows = list(workload.commands(3_000, seed=2, accounts=20))
    expected = reference_fills(rows)
    assert len(expected) > 300  # the workload really trades
    orders, fills = tmp_path / "orders.jsonl", tmp_path / "fills.jsonl"
    orders.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["bench", "engine", "--orders", str(orders), "--fills", str(fills)]) == 0
    matched = [json.loads(line) for line in fills.read_text().splitlines()]
    assert [(f["taker"], f["maker"], f["price"], f["size"]) for f in matched] == expected


def test_command_line_writes_one_json_command_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "gen-orders", "--n", "200", "--seed", "9"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == list(workload.commands(200, seed=9))


def test_bad_counts_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(n=10, seed=1, accounts=0)
    assert workload.run(args) == 2
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("bench", ["engine", "gateway"])
def test_benchmark_cannot_overwrite_an_existing_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bench: str
) -> None:
    journal = tmp_path / "state" / "31337-0x5fbdb231-0123456789ab" / "journal.bin"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b"a node's orders")
    orders = tmp_path / "orders.jsonl"
    orders.write_text("".join(json.dumps(c) + "\n" for c in workload.commands(10)))
    extra = ["--orders", str(orders)] if bench == "engine" else ["--orders", "10"]
    assert main(["bench", bench, *extra, "--journal", str(journal)]) == 1
    assert "exists: a benchmark journals to a new file only" in capsys.readouterr().err
    assert journal.read_bytes() == b"a node's orders"
