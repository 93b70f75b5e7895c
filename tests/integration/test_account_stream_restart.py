"""`perpdex up` killed with SIGKILL (the whole process group: node and signature worker)
while a maker's orders are being filled, then started again on the same state: the
SDK clients reconnect by themselves and resume their account streams, and the maker's
stream holds every fill the taker's holds, in order, once each, as the journal does; the
HTTP history returns the same fills page by page."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.integration.relay import Partition

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.cli.up import fresh_deployment
from perpdex.core.types import Price, Size, TimeInForce
from perpdex.core.units import from_price_units, from_size_units
from perpdex.engine.config import MarketConfig
from perpdex.engine.events import Event, Filled
from perpdex.sdk.client import Client
from perpdex.sdk.gateway_errors import ConnectionLostError, GatewayUnavailableError
from perpdex.sdk.subscriptions import AccountSubscription
from perpdex.sdk.values import Fill, OrderUpdate
from perpdex.services.engine import replay_events
from perpdex.services.state import JOURNAL_FILE

READY = "gateway listening on"
START_TIMEOUT_S = 120.0
FILLS_BEFORE_KILL = 12
FILLS_AFTER_RESTART = 12


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Up:
    """`perpdex up --rpc-url` in its own process group, its output in a file."""

    def __init__(self, deployment_file: Path, state_dir: Path, port: int, log: Path) -> None:
        self._args = [
            sys.executable, "-m", "perpdex.cli.main", "up",
            "--rpc-url", "", "--deployment", str(deployment_file),
            "--state-dir", str(state_dir), "--port", str(port), "--http-port", "0",
            "--interval", "0.2",
        ]  # fmt: skip
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, rpc_url: str) -> None:
        self._args[self._args.index("--rpc-url") + 1] = rpc_url
        start = self._log.stat().st_size if self._log.exists() else 0
        with open(self._log, "ab") as out:
            self.process = subprocess.Popen(
                self._args,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while READY not in self._log.read_bytes()[start:].decode(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"perpdex up did not start:\n{self._log.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """A crash: SIGKILL to the node and every process it started."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)


@contextlib.contextmanager
def _up(deployment: Deployment, tmp_path: Path, port: int) -> Iterator[_Up]:
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")
    node = _Up(deployment_file, tmp_path / "state", port, tmp_path / "up.log")
    node.start(deployment.rpc_url)
    try:
        yield node
    finally:
        node.stop()


async def _collect(stream: AccountSubscription, into: list[Fill | OrderUpdate]) -> None:
    async for event in stream:
        if isinstance(event, Fill | OrderUpdate):
            into.append(event)


def _fills(events: list[Fill | OrderUpdate]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def _journal_fills(deployment: Deployment, state_dir: Path) -> list[Filled]:
    markets = [MarketConfig(m.id, m.tick_size, m.lot_size) for m in deployment.markets]
    fills: list[Filled] = []

    def collect(event: Event) -> None:
        if isinstance(event, Filled):
            fills.append(event)

    (journal,) = state_dir.glob(f"*/{JOURNAL_FILE}")  # the one chain's folder
    replay_events(journal, markets, collect)
    return fills


def test_a_maker_misses_no_fill_when_the_node_is_killed_mid_stream(
    deployment: Deployment, tmp_path: Path
) -> None:
    port = _free_port()
    url = f"ws://127.0.0.1:{port}"
    maker_seen: list[Fill | OrderUpdate] = []
    taker_seen: list[Fill | OrderUpdate] = []

    def client(role: Role, via: str = url) -> Client:
        key = deployment.wallet(role).private_key
        assert key is not None
        return Client.connect(via, key, deployment, state_dir=tmp_path / "nonces")

    async def take(taker: Client, count: int, *, answered: bool = False) -> None:
        """IOC buys, each taking one resting ask; the node may die under any of them.
        ``answered``: only buys the gateway answered count (each of those filled), so at
        least ``count`` fills happen."""
        done = 0
        while done < count:
            try:
                await taker.place(
                    "BTC-PERP", "buy", "0.01", "100000", time_in_force=TimeInForce.IOC
                )
            except (ConnectionLostError, GatewayUnavailableError):
                await asyncio.sleep(0.1)  # its effect is unknown: the streams will tell
                if answered:
                    continue
            done += 1

    async def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    with _up(deployment, tmp_path, port) as node:

        async def scenario() -> None:
            partition = Partition(port)
            async with (
                partition as relayed,
                client(Role.MAKER, f"ws://127.0.0.1:{relayed}") as maker,
                client(Role.TRADER) as taker,
            ):
                readers = [
                    asyncio.create_task(_collect(await maker.account(), maker_seen)),
                    asyncio.create_task(_collect(await taker.account(), taker_seen)),
                ]
                # asks for every buy, and for unanswered buys that may have filled too
                total = FILLS_BEFORE_KILL + FILLS_AFTER_RESTART + 12
                for _ in range(total):
                    await maker.place("BTC-PERP", "sell", "0.01", "100000")
                await take(taker, FILLS_BEFORE_KILL)
                # the kill lands while the taker keeps sending: fills in flight
                burst = asyncio.create_task(take(taker, 4))
                await asyncio.sleep(0.05)
                await asyncio.to_thread(node.kill)
                partition.cut()  # the maker comes back only after the taker traded
                await burst
                await asyncio.to_thread(node.start, deployment.rpc_url)
                await take(taker, FILLS_AFTER_RESTART, answered=True)
                await until(
                    lambda: len(_fills(taker_seen)) >= FILLS_BEFORE_KILL + FILLS_AFTER_RESTART,
                    "the taker's fills",
                )
                await asyncio.sleep(1.0)  # the taker's stream delivers the last of them
                missed = len(_fills(taker_seen)) - len(_fills(maker_seen))
                partition.open = True
                await until(
                    lambda: len(_fills(maker_seen)) == len(_fills(taker_seen)), "the maker's"
                )
                await asyncio.sleep(1.0)  # anything more (a duplicate) would arrive now
                assert missed >= FILLS_AFTER_RESTART  # what the resume had to deliver

                history: list[Fill] = []
                cursor: int | None = 0
                while cursor is not None:
                    page = await maker.fills(after=cursor, limit=5)
                    assert len(page.items) <= 5
                    history += page.items
                    cursor = page.next
                assert history == _fills(maker_seen)
                orders = await maker.order_history(limit=1000)
                filled = {o.order_id: o.filled for o in orders.items}
                for fill in _fills(maker_seen):
                    assert filled[fill.order_id] >= fill.size
                for reader in readers:
                    reader.cancel()

        asyncio.run(scenario())

    journal = _journal_fills(deployment, tmp_path / "state")
    for seen in (maker_seen, taker_seen):
        # every numbered event once, in order, no gap: 1, 2, 3, ...
        assert [e.account_seq for e in seen] == list(range(1, len(seen) + 1))
    maker_trades = [(f.seq, f.price, f.size) for f in _fills(maker_seen)]
    taker_trades = [(f.seq, f.price, f.size) for f in _fills(taker_seen)]
    assert maker_trades == taker_trades
    assert maker_trades == [
        (f.seq, from_price_units(Price(f.price)), from_size_units(Size(f.size))) for f in journal
    ]
    assert len(journal) >= FILLS_BEFORE_KILL + FILLS_AFTER_RESTART
    log = (tmp_path / "up.log").read_text()
    assert log.count(READY) == 2  # it was killed, not stopped, in between
