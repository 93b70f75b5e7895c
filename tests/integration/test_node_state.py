"""A node's state on a real anvil: one `perpdex up` per state directory (a second one fails
naming the first and touches nothing), and a journal is only replayed on its own chain."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from tests.integration.node_testing import client, running

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment, Role, load_deployment
from perpdex.cli.up import fresh_deployment
from perpdex.core.eip712 import ChainId, Eip712Domain
from perpdex.core.types import Address
from perpdex.engine.config import MarketConfig
from perpdex.engine.events import Accepted, Event
from perpdex.sdk.client import Client
from perpdex.services.engine import replay_events
from perpdex.services.node import Node, NodeConfig
from perpdex.services.state import ChainIdentityError, StateDirLockedError

LISTENING = re.compile(r"gateway listening on (\S+); web app and HTTP API at (\S+);")
JOURNAL = re.compile(r"^journal: (\S+)$", re.M)


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


def _up(*args: str) -> list[str]:
    return [
        sys.executable, "-m", "perpdex.cli.main", "up", "--port", "0", "--http-port", "0", *args
    ]  # fmt: skip


@pytest.fixture
def first_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """A running `perpdex up` on ``tmp_path / "state"``: the process, its gateway, its journal."""
    process = subprocess.Popen(
        _up("--state-dir", str(tmp_path / "state"), "--out", str(tmp_path / "first.json")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    printed = ""
    try:
        for line in process.stdout:
            printed += line
            if match := LISTENING.search(line):
                journal = JOURNAL.search(printed)
                assert journal is not None, printed
                # keep reading its logs, so a full pipe never blocks it
                threading.Thread(target=process.stdout.read, daemon=True).start()
                yield process, match.group(1), Path(journal.group(1))
                break
        else:
            raise AssertionError(f"`perpdex up` never listened:\n{printed}")
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: it stops its services and its anvil
            process.wait(timeout=60)


def _accepted(journal: Path, deployment: Deployment) -> int:
    markets = [MarketConfig(m.id, m.tick_size, m.lot_size) for m in deployment.markets]
    accepted: list[Event] = []

    def keep(event: Event) -> None:
        if isinstance(event, Accepted):
            accepted.append(event)

    replay_events(journal, markets, keep)
    return len(accepted)


def test_second_up_cannot_wipe_running_state(
    tmp_path: Path, first_up: tuple[subprocess.Popen[str], str, Path]
) -> None:
    process, url, journal = first_up
    deployment = load_deployment(tmp_path / "first.json")
    key = deployment.wallet(Role.MAKER).private_key
    assert key is not None
    # the URLs it printed are the deployment file's, and the HTTP API answers there
    assert deployment.gateway_url == url and deployment.web_url is not None
    with urllib.request.urlopen(f"{deployment.web_url}/health", timeout=10) as response:
        assert json.load(response)["journalSeq"] is not None  # the engine runs

    async def place(price: str) -> None:
        async with Client.connect(url, key, deployment, state_dir=tmp_path) as maker:
            await maker.place("BTC-PERP", "sell", "0.01", price)

    asyncio.run(place("120000"))
    before = journal.stat()

    second = subprocess.run(
        _up("--state-dir", str(tmp_path / "state"), "--out", str(tmp_path / "second.json")),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert second.returncode == 1
    assert f"is in use by pid {process.pid} (`main.py up --port 0 --http-port 0 --state-dir" in (
        second.stderr
    )
    assert "started 20" in second.stderr
    assert second.stdout == ""  # it failed first: no anvil, no deployment
    assert not (tmp_path / "second.json").exists()
    after = journal.stat()
    assert (after.st_ino, after.st_size, after.st_nlink) == (before.st_ino, before.st_size, 1)

    asyncio.run(place("120010"))  # the first node goes on, on the same journal
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert _accepted(journal, deployment) == 2


def test_journal_of_another_chain_is_not_replayed(tmp_path: Path) -> None:
    """The issue's sequence: `up`, Ctrl-C, a new chain, `up` on it with the same state."""
    state = tmp_path / "state"

    async def rest_an_order(on: Deployment) -> Path:
        async with running(on, state) as node:
            async with client(node, Role.MAKER, tmp_path) as maker:
                await maker.place("BTC-PERP", "sell", "0.01", "120000")
            return node.state.journal

    async def open_orders(on: Deployment) -> tuple[int, Path]:
        async with running(on, state) as node:
            domain = Eip712Domain(ChainId(on.chain_id), on.contracts.exchange)
            return len(node.engine.open_orders(domain)), node.state.journal

    with Anvil() as first:
        old_chain = fresh_deployment(first.rpc_url)
        old_journal = asyncio.run(rest_an_order(old_chain))
        with Anvil() as second:
            new_chain = fresh_deployment(second.rpc_url)
            # the same Exchange address on the same chain id: only the chain's hashes differ
            assert new_chain.contracts == old_chain.contracts
            assert new_chain.chain_id == old_chain.chain_id
            resting, new_journal = asyncio.run(open_orders(new_chain))
        assert resting == 0
        assert new_journal.parent != old_journal.parent
        assert _accepted(old_journal, old_chain) == 1  # kept for audit
        # and back on the first chain, its order is back
        assert asyncio.run(open_orders(old_chain)) == (1, old_journal)


@pytest.mark.parametrize(
    "other",
    [
        lambda d: replace(d, chain_id=1),
        lambda d: replace(d, contracts=replace(d.contracts, exchange=Address("0x" + "11" * 20))),
        lambda d: replace(d, start_block=10**9),
    ],
    ids=["chain id", "no exchange code", "block not mined"],
)
def test_deployment_of_another_chain_is_refused(
    deployment: Deployment, tmp_path: Path, other: object
) -> None:
    assert callable(other)
    node = Node(other(deployment), NodeConfig(state_dir=tmp_path / "state"))
    with pytest.raises(ChainIdentityError, match=r"another chain|is chain 31337"):
        asyncio.run(node.start())
    assert not node.lock.held  # released on the failed start
    assert not any((tmp_path / "state").glob("*/journal.bin"))


def test_second_node_in_one_process_is_refused(deployment: Deployment, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            second = Node(deployment, NodeConfig(state_dir=tmp_path / "state"))
            with pytest.raises(StateDirLockedError, match=f"pid {os.getpid()}"):
                await second.start()
            assert node.lock.held
            assert node.engine.running

    asyncio.run(scenario())
