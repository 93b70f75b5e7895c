"""`perpdex bench cluster` run tiny on real processes (anvil, nats-server, `perpdex engine`,
`perpdex gateway`) beside the embedded gateway: every order answered, every taker filled,
the latencies and CPU figures sane. No timing is asserted (the machine is shared)."""

from __future__ import annotations

import json

import pytest

from perpdex.cli.main import main


def test_a_tiny_run_places_every_order_and_fills_every_taker_in_both_modes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = ["--orders", "80", "--clients", "4", "--traders", "8", "--configs", "embedded,1x1"]
    assert main(["bench", "cluster", *arguments, "--nats-nodes", "1", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert [row["config"] for row in figures["configs"]] == ["embedded", "1x1"]
    assert figures["orders"] == 80
    for row in figures["configs"]:
        assert row["errors"] == 0, row["error_sample"]
        assert row["placed"] == row["orders"] == 80
        assert row["unapplied"] == 0
        assert row["takers"] == 40  # half the connections take
        assert row["fills"] == row["takers"]  # each taker's trade seen on the trade channel
        assert row["orders_per_s"] > 0
        assert 0 < row["ack_p50_ms"] <= row["ack_p99_ms"]
        assert 0 < row["fill_p50_ms"] <= row["fill_p99_ms"]
        assert all(cpu >= 0 for cpu in row["cpu_us_per_order"].values())
        assert set(row["cpu_us_per_order_net"]) == set(row["cpu_us_per_order"])
        assert all(0 <= idle <= 100 * 2 for idle in row["idle_cpu_pct"].values())
    embedded, cluster = figures["configs"]
    assert set(embedded["cpu_us_per_order"]) == {"embedded", "clients"}
    assert {"engine-0", "gateway-0", "nats-0", "clients"} == set(cluster["cpu_us_per_order"])


@pytest.mark.parametrize(
    "arguments",
    [
        ["--configs", "3y2"],
        ["--configs", "0x1"],
        ["--clients", "3"],
        ["--orders", "0"],
        ["--clients", "8", "--traders", "4"],
    ],
)
def test_bad_arguments_are_refused(arguments: list[str]) -> None:
    assert main(["bench", "cluster", *arguments]) == 2
