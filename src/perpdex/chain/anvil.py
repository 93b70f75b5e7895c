"""Run a real anvil node (the pinned npm ``@foundry-rs/anvil``) for tests, demos and benchmarks.

    with Anvil() as node:
        web3 = Web3(Web3.HTTPProvider(node.rpc_url))
        admin = node.accounts[0]

The node listens on 127.0.0.1 at a free port, mines on every transaction (or every
``block_time`` seconds), and targets the EVM version the Vyper compiler emits by default. Its
log goes to ``log_path`` (or an anonymous temporary file) and is quoted when startup fails.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from eth_account import Account
from vyper.evm.opcodes import DEFAULT_EVM_VERSION

from perpdex.core.types import Address

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
"""Anvil's (and Hardhat's) well-known development mnemonic: its keys are public knowledge."""

DEFAULT_CHAIN_ID = 31337
DEFAULT_ACCOUNTS = 10
DEFAULT_GAS_LIMIT = 100_000_000
"""Block gas limit: room for settlement batches of a few hundred fills plus other traffic."""

HISTORY_BLOCKS = 500
"""How many past blocks' states anvil keeps (in memory) for calls at a past block; an older
block answers ``BlockOutOfRangeError``. Left to itself anvil also writes every older state to
``~/.foundry/anvil/tmp`` (a full JSON dump of the chain per block, never removed, megabytes
each once a few hundred orders are settled): a test session or a day-long demo filled the disk."""

ANVIL_BIN = Path("node_modules") / ".bin" / "anvil"
"""Where ``npm ci`` (run by ``make setup``) puts anvil, relative to the repository root."""

_STOP_GRACE_SECONDS = 5.0
_START_ATTEMPTS = 3


class AnvilError(RuntimeError):
    """Anvil is not installed, did not start, or did not answer in time."""


@dataclass(frozen=True, slots=True)
class DevAccount:
    """A prefunded anvil account. Its key derives from a public mnemonic: local use only."""

    index: int
    address: Address
    private_key: str
    """0x-prefixed hex."""


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def anvil_binary() -> Path:
    """The project's pinned anvil, or :class:`AnvilError` saying how to install it."""
    binary = repo_root() / ANVIL_BIN
    if not binary.exists():
        raise AnvilError(f"anvil not found at {binary}: run `make setup` (npm ci) first")
    return binary


@cache
def dev_accounts(
    count: int = DEFAULT_ACCOUNTS, mnemonic: str = DEFAULT_MNEMONIC
) -> tuple[DevAccount, ...]:
    """The first ``count`` accounts anvil derives from ``mnemonic`` (``m/44'/60'/0'/0/i``)."""
    Account.enable_unaudited_hdwallet_features()
    accounts = []
    for index in range(count):
        account = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")
        accounts.append(DevAccount(index, Address(account.address), account.key.to_0x_hex()))
    return tuple(accounts)


class Anvil:
    """One anvil process; a context manager that always stops it (process group included)."""

    def __init__(
        self,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        block_time: int | None = None,
        gas_limit: int = DEFAULT_GAS_LIMIT,
        code_size_limit: int | None = None,
        accounts: int = DEFAULT_ACCOUNTS,
        mnemonic: str = DEFAULT_MNEMONIC,
        startup_timeout: float = 30.0,
        log_path: Path | None = None,
    ) -> None:
        """``block_time`` None mines one block per transaction; ``code_size_limit`` None keeps
        EIP-170's 24 KiB so an oversized contract fails here as it would on a real chain."""
        self.chain_id = chain_id
        self.block_time = block_time
        self.gas_limit = gas_limit
        self.code_size_limit = code_size_limit
        self.mnemonic = mnemonic
        self.accounts = dev_accounts(accounts, mnemonic)
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        if self.port is None:
            raise AnvilError("anvil is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start anvil and return once it answers JSON-RPC with the expected chain id."""
        if self._process is not None:
            raise AnvilError("anvil is already started")
        binary = anvil_binary()
        # A port picked free can be taken before anvil binds it: retry on a new port.
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = _free_port()
            self._log = self._open_log()
            self._process = subprocess.Popen(
                [str(binary), *self._arguments()],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                # its own process group: stop() signals the npm wrapper and anvil together
                start_new_session=True,
            )
            atexit.register(self.stop)
            try:
                self._wait_until_ready()
                return self
            except AnvilError:
                log = self._log_tail()
                self.stop()
                if attempt == _START_ATTEMPTS or "in use" not in log:
                    raise AnvilError(f"anvil did not start; its log ends with:\n{log}") from None
            except BaseException:  # Ctrl-C while waiting: `with` will not call __exit__
                self.stop()
                raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period; idempotent."""
        process, self._process = self._process, None
        if process is not None:
            atexit.unregister(self.stop)
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.port = None

    def set_block_time(self, seconds: int | None) -> None:
        """Mine a block every ``seconds`` from now on, or one per transaction (None)."""
        if seconds is None:
            _rpc(self.rpc_url, "evm_setAutomine", [True])
        else:
            _rpc(self.rpc_url, "evm_setIntervalMining", [seconds])

    def mine_by_hand(self) -> None:
        """Mine only when :meth:`mine` says so: transactions wait in the pool meanwhile
        (``set_block_time(None)`` goes back to one block per transaction)."""
        _rpc(self.rpc_url, "evm_setIntervalMining", [0])
        _rpc(self.rpc_url, "evm_setAutomine", [False])

    def mine(self) -> None:
        """Mine one block of every transaction in the pool."""
        _rpc(self.rpc_url, "evm_mine", [])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _open_log(self) -> IO[bytes]:
        # Kept open while anvil runs (closed by stop()); a pipe instead would fill up unread
        # and block anvil.
        if self.log_path is None:
            return tempfile.TemporaryFile()
        return open(self.log_path, "wb")

    def _arguments(self) -> list[str]:
        arguments = [
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(len(self.accounts)),
            "--mnemonic", self.mnemonic,
            "--gas-limit", str(self.gas_limit),
            "--hardfork", DEFAULT_EVM_VERSION,
            "--prune-history", str(HISTORY_BLOCKS),
        ]  # fmt: skip
        if self.block_time is not None:
            arguments += ["--block-time", str(self.block_time)]
        if self.code_size_limit is not None:
            arguments += ["--code-size-limit", str(self.code_size_limit)]
        return arguments

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            chain_id = _rpc_chain_id(self.rpc_url)
            # checked after the call: whoever answered must be our (still running) anvil
            if not self.running:
                raise AnvilError("anvil exited during startup")
            if chain_id is not None:
                if chain_id != self.chain_id:
                    raise AnvilError(f"port {self.port} answers chain id {chain_id}")
                return
            time.sleep(0.05)
        raise AnvilError(f"anvil did not answer within {self.startup_timeout} s")

    def _log_tail(self, limit: int = 4_000) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        with open(self._log.fileno(), "rb", closefd=False) as log:
            log.seek(0)
            return log.read().decode(errors="replace")[-limit:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _rpc(url: str, method: str, params: list[object]) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5.0) as response:
        reply = json.load(response)
    if "error" in reply:
        raise AnvilError(f"{method}: {reply['error']}")
    return reply["result"]


def _rpc_chain_id(url: str) -> int | None:
    """``eth_chainId`` of the node at ``url``, or None while nothing answers yet."""
    try:
        return int(str(_rpc(url, "eth_chainId", [])), 16)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signum)
