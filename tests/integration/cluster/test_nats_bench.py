"""`perpdex bench nats-journal` runs every store on real servers and prints its figures."""

from __future__ import annotations

import json

import pytest

from perpdex.cli.main import main

STORES = ("file", "file_fsync", "jetstream_1_node", "jetstream_3_nodes_r3")


def test_the_benchmark_prints_rate_and_latency_for_every_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "nats-journal", "--commits", "5", "--groups", "1,4"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["groups"] == [1, 4]
    for store in STORES:
        for group in ("1", "4"):
            measured = figures[store][group]
            assert measured["entries_per_s"] > 0
            assert 0 < measured["commit_p50_us"] <= measured["commit_p99_us"]


@pytest.mark.parametrize("arguments", [["--commits", "0"], ["--groups", "1,x"], ["--groups", "0"]])
def test_bad_arguments_are_refused(arguments: list[str]) -> None:
    assert main(["bench", "nats-journal", *arguments]) == 2
