"""The SDK's on-chain side and the trader CLI commands against a real anvil deployment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from web3 import Web3

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind, demo_wallets, deploy
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.cli.demo_once import trade
from perpdex.cli.main import main
from perpdex.core.eip712 import ChainId, Eip712Domain, Nonce
from perpdex.core.units import to_collateral_units
from perpdex.sdk.chain_client import ChainClient
from perpdex.sdk.errors import ChainRevertError
from perpdex.sdk.keys import Wallet
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.payload import match_from_fill


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return deploy(anvil.rpc_url, demo_wallets(anvil.accounts))


@pytest.fixture(scope="module")
def deployment_file(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_deployment(deployment, tmp_path_factory.mktemp("d") / "local.json")


def _client(deployment: Deployment, role: Role) -> ChainClient:
    key = deployment.wallet(role).private_key
    assert key is not None
    return ChainClient(deployment, Wallet.from_private_key(key))


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_deposit_with_faucet_credits_the_exchange(
    deployment: Deployment, deployment_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trader = _client(deployment, Role.TRADER)
    before = trader.account(trader.address).collateral

    code, out, err = _cli(
        capsys, "deposit", "250.5", "--faucet", "--wallet", "trader",
        "--deployment", str(deployment_file),
    )  # fmt: skip

    assert (code, err) == (0, "")
    assert out.startswith("deposited 250.5 USDC (tx 0x")
    assert trader.account(trader.address).collateral == before + to_collateral_units("250.5")
    assert trader.address in out


def test_bad_input_and_missing_funds_are_one_line_errors(
    deployment_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--wallet", "maker", "--deployment", str(deployment_file))
    cases = {
        ("deposit", "1.0000001", *common): "has more than 6 decimals",
        ("deposit", "-3", *common): "amount must be positive",
        ("deposit", "5", *common): "the wallet holds 0 USDC, cannot deposit 5",
        ("deposit", "5", "--key", "0x1234", "--deployment", str(deployment_file)): "not 32 bytes",
        ("withdraw", "--deployment", str(deployment_file), *common[:2]): "give an amount",
        (
            "positions",
            "--address",
            "0xnope",
            "--deployment",
            str(deployment_file),
        ): "not an address",
    }
    for argv, message in cases.items():
        code, _, err = _cli(capsys, *argv)
        assert code == 1, argv
        assert err.startswith("error: ") and message in err, err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_rpc_down_is_a_clear_error(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = write_deployment(
        dataclasses.replace(deployment, rpc_url="http://127.0.0.1:9"), tmp_path / "gone.json"
    )
    code, _, err = _cli(capsys, "positions", "--wallet", "trader", "--deployment", str(gone))
    assert code == 1
    assert err.startswith("error: connecting: the chain node does not answer")


def test_withdrawal_waits_for_the_delay(
    deployment: Deployment, deployment_file: Path, web3: Web3, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--wallet", "maker", "--deployment", str(deployment_file))
    maker = _client(deployment, Role.MAKER)
    before = maker.account(maker.address).collateral

    code, out, _ = _cli(capsys, "withdraw", "100", *args)
    assert code == 0
    assert "withdrawal of 100 USDC requested: ready at" in out and "(in 300 s)" in out

    code, _, err = _cli(capsys, "withdraw", "--execute", *args)
    assert code == 1
    assert err == "error: execute_withdrawal reverted: exchange: withdrawal not ready\n"

    web3.provider.make_request("evm_increaseTime", [300])
    web3.provider.make_request("evm_mine", [])
    code, out, _ = _cli(capsys, "withdraw", "--execute", *args)
    assert code == 0 and out.startswith("withdrew 100 USDC")
    assert maker.account(maker.address).collateral == before - to_collateral_units("100")
    assert maker.wallet_balance(maker.address) == to_collateral_units("100")


def test_positions_table_after_a_settled_trade(
    deployment: Deployment, deployment_file: Path, web3: Web3, capsys: pytest.CaptureFixture[str]
) -> None:
    market = deployment.market("BTC-PERP")
    domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
    expiry = int(web3.eth.get_block("latest")["timestamp"]) + 86_400
    fills = trade(deployment, market, domain, expiry)
    operator = deployment.wallet(Role.OPERATOR).account()
    batcher = Batcher(web3, bind(web3, deployment).exchange, operator)
    batcher.settle([match_from_fill(fill, domain) for fill in fills])

    code, out, _ = _cli(
        capsys, "positions", "--wallet", "trader", "--deployment", str(deployment_file)
    )
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line}
    # the trader bought 0.05 @ 100000, 0.05 @ 100010 and 0.02 @ 100020 as the taker
    assert rows["BTC-PERP"][1:3] == ["long", "0.12"]
    assert rows["BTC-PERP"][-1] == "cross"
    assert "maintenance margin" in out

    maker = deployment.wallet(Role.MAKER).address
    code, out, _ = _cli(
        capsys, "positions", "--address", maker.lower(), "--deployment", str(deployment_file)
    )
    assert code == 0 and maker in out
    assert [line.split()[1:3] for line in out.splitlines() if line.startswith("BTC-PERP")] == [
        ["short", "0.12"]
    ]


def test_on_chain_cancels_close_nonces(deployment: Deployment) -> None:
    trader = _client(deployment, Role.TRADER)
    floor = trader.account(trader.address).nonce_floor
    trader.raise_nonce_floor(Nonce(floor + 10))
    assert trader.account(trader.address).nonce_floor == floor + 10
    with pytest.raises(ChainRevertError, match="nonce floor can only rise"):
        trader.raise_nonce_floor(Nonce(floor + 10))
    trader.cancel_orders([Nonce(floor + 20), Nonce(floor + 21)])
