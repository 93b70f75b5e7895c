"""The status board on a real nats-server: the supervisor's record and the service's own
merge into one line of `perpdex cluster status`; a service started by hand (no supervisor)
shows as running while it reports."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import socket

import pytest
from tests.integration.cluster.pause_testing import API_TIMEOUT_S, Paused

from perpdex.cli.main import main
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.status import (
    ProcessRecord,
    ServiceRecord,
    StatusReporter,
    now_ms,
    put_process,
    put_service,
    read_board,
    status_bucket,
)
from perpdex.cluster.streams import StreamLayout
from perpdex.cluster.transport import connect

LAYOUT = StreamLayout(shards=2, prefix="board")


async def _report(urls: list[str]) -> None:
    client = await connect(urls, name="test")
    try:
        board = await status_bucket(client.jetstream(), LAYOUT)
        supervised = ProcessRecord("engine-1", "engine", 1, os.getpid(), "running", 2, now_ms())
        await put_process(board, supervised)
        # engine-0 was SIGKILLed and restarted: its predecessor's record has not expired
        restarted = ProcessRecord("engine-0", "engine", 0, 4242, "running", 1, now_ms())
        await put_process(board, restarted)
        await put_service(board, ServiceRecord("engine-0", "engine", 0, 4241, "h", 9, 5, now_ms()))
        engine = StatusReporter(board, "engine-1", "engine", 1, lambda: (120, 3))
        by_hand = StatusReporter(board, "keeper", "keeper", None, lambda: (7, 0))
        tasks = [asyncio.create_task(r.run()) for r in (engine, by_hand)]
        await asyncio.sleep(0.3)
        views = {view.name: view for view in await read_board(board)}
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await client.close()
    engine_view = views["engine-1"]
    assert (engine_view.role, engine_view.shard, engine_view.state) == ("engine", 1, "running")
    assert (engine_view.restarts, engine_view.seq, engine_view.lag) == (2, 120, 3)
    assert (engine_view.pid, engine_view.host) == (os.getpid(), socket.gethostname())
    restarted_view = views["engine-0"]  # the dead pid's record is not shown as its own
    assert (restarted_view.pid, restarted_view.restarts, restarted_view.lag) == (4242, 1, None)
    keeper = views["keeper"]
    assert (keeper.state, keeper.restarts, keeper.shard) == ("running", None, None)


def test_the_board_merges_the_supervisor_and_the_service(nats_single: NatsCluster) -> None:
    asyncio.run(_report(nats_single.urls))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["cluster", "status", "--nats", nats_single.url(0), "--prefix", "board", "--json"]
        )
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out.getvalue())}
    assert rows["engine-1"]["lag"] == 3 and rows["engine-1"]["restarts"] == 2
    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        main(["cluster", "status", "--nats", nats_single.url(0), "--prefix", "board"])
    header, *lines = table.getvalue().splitlines()
    assert header.split() == [
        "name",
        "role",
        "shard",
        "pid",
        "state",
        "restarts",
        "lag",
        "seq",
        "host",
    ]
    assert [line.split()[0] for line in lines] == ["engine-0", "engine-1", "keeper"]


def test_status_of_a_cluster_without_a_board_is_empty(nats_single: NatsCluster) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["cluster", "status", "--nats", nats_single.url(0), "--prefix", "none", "--json"]
        )
    assert (code, json.loads(out.getvalue())) == (0, [])


def test_status_without_a_server_says_so_instead_of_waiting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"nats://127.0.0.1:{sock.getsockname()[1]}"
    assert main(["cluster", "status", "--nats", url]) == 1
    assert f"no NATS server answered at {url}" in capsys.readouterr().err


def test_the_board_opened_while_answers_come_too_late_waits_for_them(
    nats_single: NatsCluster,
) -> None:
    async def scenario() -> None:
        client = await connect(nats_single.urls, name="test")
        try:
            with Paused(nats_single) as pause:
                board = await status_bucket(client.jetstream(timeout=API_TIMEOUT_S), LAYOUT)
                assert pause.over.is_set()  # no answer came while it was stopped
            assert board is not None
        finally:
            await client.close()

    asyncio.run(scenario())
