"""perpdex.chain.anvil: a real anvil starts, answers, mines as told, and stops."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from web3 import Web3
from web3.exceptions import Web3RPCError

from perpdex.chain import anvil as anvil_module
from perpdex.chain.anvil import (
    DEFAULT_MNEMONIC,
    HISTORY_BLOCKS,
    Anvil,
    AnvilError,
    dev_accounts,
)
from perpdex.chain.transact import connect

# The BIP-39 test vector of all-zero entropy.
OTHER_MNEMONIC = " ".join(["abandon"] * 11 + ["about"])


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1.0)
    except urllib.error.HTTPError:
        return True  # a GET is refused, but something listens
    except (urllib.error.URLError, ConnectionError):
        return False
    return True


def test_starts_answers_and_stops() -> None:
    node = Anvil(chain_id=4242)
    with node:
        url = node.rpc_url
        web3 = connect(url)
        assert web3.eth.chain_id == 4242
        assert node.running
    assert not node.running
    assert not _answers(url)
    with pytest.raises(AnvilError, match="not running"):
        _ = node.rpc_url


def test_stop_is_idempotent() -> None:
    node = Anvil().start()
    node.stop()
    node.stop()
    assert not node.running


def test_two_nodes_run_side_by_side() -> None:
    with Anvil() as first, Anvil() as second:
        assert first.rpc_url != second.rpc_url
        assert connect(first.rpc_url).eth.block_number == 0
        assert connect(second.rpc_url).eth.block_number == 0


def test_dev_accounts_are_anvils_prefunded_accounts(anvil: Anvil, web3: Web3) -> None:
    assert [account.address for account in anvil.accounts] == web3.eth.accounts
    assert all(web3.eth.get_balance(account.address) > 0 for account in anvil.accounts)


def test_default_accounts_are_the_well_known_ones() -> None:
    admin, operator = dev_accounts(2)
    assert (admin.index, operator.index) == (0, 1)
    # anvil's documented account 0 of the default mnemonic
    assert admin.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_accounts_follow_another_mnemonic() -> None:
    with Anvil(mnemonic=OTHER_MNEMONIC, accounts=3) as node:
        assert [account.address for account in node.accounts] == connect(node.rpc_url).eth.accounts
    assert node.accounts != dev_accounts(3, DEFAULT_MNEMONIC)


def test_block_time_mines_without_transactions() -> None:
    with Anvil(block_time=1) as node:
        web3 = connect(node.rpc_url)
        time.sleep(2.5)
        assert web3.eth.block_number >= 2


def test_set_block_time_switches_mining(anvil: Anvil, web3: Web3) -> None:
    anvil.set_block_time(1)
    try:
        start = web3.eth.block_number
        time.sleep(2.5)
        assert web3.eth.block_number >= start + 2
    finally:
        anvil.set_block_time(None)
    idle = web3.eth.block_number
    time.sleep(1.5)
    assert web3.eth.block_number == idle


def test_mining_by_hand_holds_transactions_until_mine() -> None:
    with Anvil() as node:
        web3 = connect(node.rpc_url)
        sender, receiver = web3.eth.accounts[:2]
        node.mine_by_hand()
        start = web3.eth.block_number
        tx_hash = web3.eth.send_transaction({"from": sender, "to": receiver, "value": 1})
        time.sleep(1.5)
        assert web3.eth.block_number == start
        assert web3.eth.get_transaction_count(sender, "pending") == 1
        node.mine()
        assert web3.eth.get_transaction_receipt(tx_hash)["blockNumber"] == start + 1
        node.set_block_time(None)  # one block per transaction again
        web3.eth.send_transaction({"from": sender, "to": receiver, "value": 1})
        assert web3.eth.block_number == start + 2


def test_past_states_stay_in_memory_and_never_fill_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anvil's default wrote a full state dump per block beyond a few hundred into
    ``~/.foundry`` and never removed it: gigabytes per test session, and a CI machine ran out
    of disk. The recent past stays readable; older blocks are refused, none written."""
    monkeypatch.setenv("HOME", str(tmp_path))
    with Anvil() as node:
        web3 = connect(node.rpc_url)
        for _ in range(HISTORY_BLOCKS + 200):
            node.mine()
        head = web3.eth.block_number
        funded = node.accounts[0].address
        assert web3.eth.get_balance(funded, block_identifier=head - HISTORY_BLOCKS + 1) > 0
        with pytest.raises(Web3RPCError, match="BlockOutOfRange"):
            web3.eth.get_balance(funded, block_identifier=1)
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_missing_binary_says_to_run_make_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(anvil_module, "ANVIL_BIN", Path("node_modules/.bin/no-such-anvil"))
    with pytest.raises(AnvilError, match="make setup"):
        Anvil().start()


def test_failed_start_quotes_anvils_log() -> None:
    with pytest.raises(AnvilError, match=r"(?s)did not start.*unexpected argument"):
        Anvil(gas_limit=-1).start()


def test_log_path_receives_anvils_log(tmp_path: Path) -> None:
    log = tmp_path / "anvil.log"
    with Anvil(log_path=log):
        pass
    assert "Listening on 127.0.0.1" in log.read_text()


def test_port_taken_meanwhile_retries_another(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, anvil_module._free_port()])
        monkeypatch.setattr(anvil_module, "_free_port", lambda: next(ports))

        with Anvil() as node:
            assert node.port != taken
            assert connect(node.rpc_url).eth.chain_id == node.chain_id
