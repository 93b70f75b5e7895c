"""`perpdex deploy`: a fresh anvil or a given node, the table, the file, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Role, load_deployment
from perpdex.cli.main import main

READY = re.compile(r"anvil is running at (\S+);")


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1.0)
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError):
        return False
    return True


def test_fresh_anvil_prints_table_and_writes_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "local.json"
    assert main(["deploy", "--out", str(out), "--chain-id", "1337"]) == 0

    deployment = load_deployment(out)
    printed = capsys.readouterr().out
    assert deployment.chain_id == 1337
    assert deployment.contracts.exchange in printed
    for market in deployment.markets:
        assert market.symbol in printed
    for wallet in deployment.wallets:
        assert f"{wallet.role.value:<8}  {wallet.address}" in printed
    assert str(out) in printed
    assert not _answers(deployment.rpc_url)  # no --keep-running: anvil is gone


def test_rpc_url_with_user_key(
    anvil: Anvil, web3: Web3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = Account.create()
    web3.provider.make_request("anvil_setBalance", [user.address, hex(10**21)])
    monkeypatch.setenv("PERPDEX_DEPLOYER_KEY", user.key.to_0x_hex())
    out = tmp_path / "local.json"

    assert main(["deploy", "--rpc-url", anvil.rpc_url, "--out", str(out)]) == 0

    deployment = load_deployment(out)
    assert deployment.rpc_url == anvil.rpc_url
    assert deployment.wallet(Role.ADMIN).address == user.address
    assert deployment.wallet(Role.ADMIN).private_key is None
    assert user.key.hex() not in out.read_text()
    assert bind(web3, deployment).exchange.functions.admin().call() == user.address


def test_deployer_key_needs_rpc_url(tmp_path: Path) -> None:
    key = "0x" + "11" * 32
    assert main(["deploy", "--deployer-key", key, "--out", str(tmp_path / "d.json")]) == 2
    assert not (tmp_path / "d.json").exists()


def test_unreachable_node_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "local.json"
    assert main(["deploy", "--rpc-url", "http://127.0.0.1:9", "--out", str(out)]) == 1
    assert "no JSON-RPC node answers at http://127.0.0.1:9" in capsys.readouterr().err
    assert not out.exists()


def _read_until_ready(process: subprocess.Popen[str], timeout: float) -> str:
    """The RPC URL the CLI announces; SIGTERMs it (so it stops its anvil) after ``timeout``."""
    assert process.stdout is not None
    watchdog = threading.Timer(timeout, process.terminate)
    watchdog.start()
    try:
        for line in process.stdout:
            if match := READY.search(line):
                return match.group(1)
    finally:
        watchdog.cancel()
    raise AssertionError("`perpdex deploy --keep-running` never reported a running anvil")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_keep_running_until_signalled(tmp_path: Path, signum: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "perpdex.cli.main", "deploy", "--keep-running", "--out",
         str(tmp_path / "local.json"), "--block-time", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # a test runner started in the background may ignore SIGINT; Ctrl-C must work
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        url = _read_until_ready(process, timeout=120)
        block = Web3(Web3.HTTPProvider(url)).eth.block_number
        time.sleep(2.2)
        assert Web3(Web3.HTTPProvider(url)).eth.block_number > block  # --block-time applies
        process.send_signal(signum)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.terminate()  # not kill: the CLI must get to stop its anvil
            process.wait(timeout=30)
    assert process.returncode == 0, output
    assert "stopping anvil" in output
    assert not _answers(url)
