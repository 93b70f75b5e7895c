"""`perpdex cluster nats`: three nodes and the layout's streams, joinable from outside,
a node killed by hand is survived, and Ctrl-C stops every node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.integration.cluster.journal_testing import write

from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.engine.verify import verify_store

SRC = Path(__file__).resolve().parents[3] / "src"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_command_runs_a_cluster_others_join_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "perpdex.cli.main", "cluster", "nats"]
    command += ["--nodes", "3", "--shards", "2", "--store", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        assert started["replicas"] == 3
        assert "PERPDEX_JOURNAL_1" in started["streams"]
        assert all(alive(pid) for pid in started["pids"])

        journal = JetStreamJournal(started["urls"], StreamLayout(shards=2, replicas=3), ShardId(1))
        os.kill(started["pids"][2], signal.SIGKILL)  # by hand, as an operator would
        write(journal, 10)
        assert verify_store(journal).seq == 10
        journal.close()
        assert process.poll() is None  # two nodes of three: still serving

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not any(alive(pid) for pid in started["pids"])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
