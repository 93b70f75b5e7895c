"""`perpdex demo` as `make demo` runs it, a real subprocess: a fresh anvil, the deployment,
the node of `perpdex up` with its keeper walking the oracles, and the bots trading every
market through the gateway. An anonymous SDK client watches the books, the chain's events
show the fills settled, and Ctrl-C (SIGINT) stops the bots, then the node, then anvil, with
exit code 0 (SIGTERM alike). The printed URL serves the web app and the HTTP API, whose
candles show the bots' trades. `--duration` stops it by itself."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Final

import pytest
from web3 import Web3

from perpdex.bots.config import BotsConfig
from perpdex.bots.runner import bot_wallets
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, ListedMarket, load_deployment
from perpdex.chain.transact import connect
from perpdex.sdk.book import BookView
from perpdex.sdk.client import Client
from perpdex.sdk.keys import Wallet
from perpdex.webapp.mount import PAGES, STATIC_DIR

SEED: Final = 3
URL_LINE: Final = re.compile(
    r"^live market at (\S+)/ \(operator dashboard: \1/dashboard\); press Ctrl-C to stop$",
    re.MULTILINE,
)
START_TIMEOUT_S: Final = 60.0
WATCH_S: Final = 6.0
"""How long each book is watched (the oracle moves every second: several requotes)."""
SETTLE_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 30.0


@dataclass
class Demo:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    out: Path

    def printed(self) -> str:
        return self.stdout.read_text()

    def logged(self) -> str:
        return self.stderr.read_text()

    def url(self) -> str:
        """The printed URL, once the market is live."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while (found := URL_LINE.search(self.printed())) is None:
            assert self.process.poll() is None, f"the demo exited early:\n{self.logged()}"
            assert time.monotonic() < deadline, f"no URL line:\n{self.printed()}{self.logged()}"
            time.sleep(0.2)
        return found.group(1)


@contextmanager
def demo(tmp_path: Path, *options: str) -> Iterator[Demo]:
    """``perpdex demo`` in a subprocess, its output in files (a pipe nobody reads fills up);
    SIGTERM (then SIGKILL) if the test leaves it running."""
    out = tmp_path / "local.json"
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    command = [sys.executable, "-m", "perpdex.cli.main", "demo", "--port", "0", "--seed"]
    command += [str(SEED), "--out", str(out), "--state-dir", str(tmp_path / "state"), *options]
    with stdout.open("wb") as o, stderr.open("wb") as e:
        process = subprocess.Popen(command, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
    try:
        yield Demo(process, stdout, stderr, out)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def watch_book(client: Client, market: ListedMarket) -> list[BookView]:
    """Every book the gateway sends for ``market`` over ``WATCH_S``, from the first one with
    the maker's whole ladder on both sides. Not from its first bid: the maker places its
    first ladder one order at a time, and a taker may take that lone bid before the next
    one rests (seen in CI under load)."""
    levels = BotsConfig(seed=SEED).levels
    views: list[BookView] = []
    subscription = await client.book(market.symbol)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        async with asyncio.timeout(START_TIMEOUT_S + WATCH_S):
            async for view in subscription:
                if views or min(len(view.bids), len(view.asks)) >= levels:
                    views.append(view)
                    deadline = min(deadline, time.monotonic() + WATCH_S)
                if time.monotonic() > deadline:
                    return views
    finally:
        await subscription.close()
    raise AssertionError(f"{market.symbol}: the book stream ended")


async def watch_books(deployment: Deployment, url: str) -> dict[str, list[BookView]]:
    # market data needs no account: a throwaway key that never logs in nor signs
    wallet = Wallet.from_private_key(secrets.token_bytes(32))
    async with Client(url, wallet, deployment, login=False) as client:
        watched = await asyncio.gather(*(watch_book(client, m) for m in deployment.markets))
    return {m.symbol: views for m, views in zip(deployment.markets, watched, strict=True)}


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            code: int = response.status
    except urllib.error.HTTPError as error:
        code = error.code
    return code


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def settled_fills(web3: Web3, deployment: Deployment) -> dict[int, set[tuple[str, str]]]:
    """(maker, taker) of the ``Filled`` events on chain, by market id."""
    exchange = bind(web3, deployment).exchange
    found: dict[int, set[tuple[str, str]]] = {m.id: set() for m in deployment.markets}
    for event in exchange.events.Filled().get_logs(from_block=deployment.start_block):
        args = event["args"]
        found[int(args["market"])].add((args["maker"], args["taker"]))
    return found


def test_live_demo_quotes_every_market_settles_fills_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    with demo(tmp_path, "--duration", "300") as run:
        url = run.url()
        deployment = load_deployment(run.out)
        assert url == deployment.web_url and deployment.gateway_url is not None
        # the trading page (503 where `make setup` did not build it) and the API beside it
        built = (STATIC_DIR / PAGES["/"]).is_file()
        assert status(f"{url}/") == (HTTPStatus.OK if built else HTTPStatus.SERVICE_UNAVAILABLE)

        books = asyncio.run(watch_books(deployment, deployment.gateway_url))
        for symbol, views in books.items():
            # both sides quoted in every book the gateway sent, never crossed
            assert all(v.bids and v.asks for v in views), symbol
            assert all(v.bids[0].price < v.asks[0].price for v in views), symbol
            # requoted as the oracle walks: the best bid moved
            assert len({v.bids[0].price for v in views}) > 1, symbol

        wallets = bot_wallets(deployment.markets, BotsConfig(seed=SEED))
        makers = {w.market.id: w.key.address for w in wallets if w.role == "maker"}
        takers = {w.key.address for w in wallets if w.role == "taker"}
        web3 = connect(deployment.rpc_url)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not all(settled_fills(web3, deployment).values()):
            assert time.monotonic() < deadline, "no fill settled in some market"
            time.sleep(0.5)
        for market, pairs in settled_fills(web3, deployment).items():
            # the bots' orders, settled between the market's maker and its takers
            assert {maker for maker, _ in pairs} == {makers[market]}
            assert {taker for _, taker in pairs} <= takers
        for market in deployment.markets:
            candles = get(f"{url}/markets/{market.symbol}/candles?interval=1m")
            assert isinstance(candles, list) and sum(c["trades"] for c in candles) > 0
        health = get(f"{url}/health")
        assert isinstance(health, dict) and health["ok"] is True, health

        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(STOP_TIMEOUT_S) == 0, run.logged()
        logged = run.logged()
        assert logged.index("bots stopped") < logged.index("node stopped")
        assert "ERROR" not in logged and "Traceback" not in logged
        assert run.printed().rstrip().endswith("stopping")
        assert not web3.is_connected()  # anvil went with it


@pytest.mark.parametrize("stop", ["--duration", "SIGTERM"])
def test_the_demo_stops_in_order_after_its_duration_or_on_sigterm(
    tmp_path: Path, stop: str
) -> None:
    with demo(tmp_path, "--duration", "2" if stop == "--duration" else "300") as run:
        run.url()
        if stop == "SIGTERM":
            run.process.terminate()
        assert run.process.wait(STOP_TIMEOUT_S) == 0, run.logged()
        assert run.printed().rstrip().endswith("stopping")
        logged = run.logged()
        assert logged.index("bots stopped") < logged.index("node stopped")
