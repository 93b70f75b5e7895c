"""perpdex.chain.deploy on a real anvil: everything deployed, listed, owned and funded."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import (
    FUNDED_ROLES,
    ChainContracts,
    bind,
    demo_funding,
    demo_wallets,
    deploy,
    fund,
)
from perpdex.chain.deployment import Deployment, Role, load_deployment, write_deployment
from perpdex.chain.markets import default_markets


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return deploy(anvil.rpc_url, demo_wallets(anvil.accounts))


@pytest.fixture(scope="module")
def contracts(web3: Web3, deployment: Deployment) -> ChainContracts:
    return bind(web3, deployment)


def test_writes_a_loadable_deployment_file(deployment: Deployment, tmp_path: Path) -> None:
    path = write_deployment(deployment, tmp_path / "deployments" / "local.json")
    assert load_deployment(path) == deployment


def test_describes_the_node(anvil: Anvil, web3: Web3, deployment: Deployment) -> None:
    assert deployment.chain_id == anvil.chain_id
    assert deployment.rpc_url == anvil.rpc_url
    assert deployment.gateway_url is None
    assert 0 < deployment.start_block <= web3.eth.block_number


def test_every_contract_has_code(web3: Web3, deployment: Deployment) -> None:
    addresses = deployment.contracts
    for address in (
        addresses.exchange,
        addresses.collateral,
        *addresses.oracles.values(),
        addresses.markets,
        addresses.liquidations,
        addresses.checkpoints,
    ):
        assert len(web3.eth.get_code(address)) > 0


def test_abis_are_in_the_deployment(deployment: Deployment) -> None:
    assert set(deployment.abi) == {
        "Exchange",
        "Markets",
        "Checkpoints",
        "MockUSDC",
        "MockAggregator",
    }
    functions = {e["name"] for e in deployment.abi["Exchange"] if e["type"] == "function"}
    assert {"settle", "deposit", "request_withdrawal"} <= functions


def test_deployment_file_is_valid_on_another_machine(
    web3: Web3,
    deployment: Deployment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written = write_deployment(deployment, tmp_path / "here" / "local.json")
    text = written.read_text()
    assert str(Path.cwd()) not in text and "/build/" not in text  # no path of this machine
    # elsewhere: another folder, another working directory, no build folder at all
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copied = elsewhere / "copied.json"
    copied.write_text(text)
    written.unlink()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("PERPDEX_BUILD_DIR", str(tmp_path / "no-build"))

    loaded = load_deployment(copied)
    contracts = bind(web3, loaded)
    assert contracts.exchange.functions.operator().call() == loaded.wallet(Role.OPERATOR).address
    assert contracts.markets.functions.funding_keeper().call() == loaded.wallet(Role.KEEPER).address
    assert not (tmp_path / "no-build").exists()


def test_exchange_roles(deployment: Deployment, contracts: ChainContracts) -> None:
    exchange = contracts.exchange.functions
    assert exchange.operator().call() == deployment.wallet(Role.OPERATOR).address
    assert exchange.COLLATERAL().call() == deployment.contracts.collateral
    assert exchange.MARKETS().call() == deployment.contracts.markets
    assert exchange.LIQUIDATIONS().call() == deployment.contracts.liquidations
    assert contracts.checkpoints.functions.operator().call() == exchange.operator().call()
    keeper = deployment.wallet(Role.KEEPER).address
    assert contracts.markets.functions.funding_keeper().call() == keeper


def test_exchange_abi_decodes_the_extension_events(contracts: ChainContracts) -> None:
    events = {entry["name"] for entry in contracts.exchange.abi if entry["type"] == "event"}
    assert {"Liquidated", "Deleveraged", "InsuranceDrawn", "Filled"} <= events


def test_markets_listed_in_order(deployment: Deployment, contracts: ChainContracts) -> None:
    specs = default_markets()
    assert [m.symbol for m in deployment.markets] == [s.symbol for s in specs]
    assert [m.id for m in deployment.markets] == list(range(len(specs)))
    assert contracts.markets.functions.market_count().call() == len(specs)


def test_oracles_quote_the_index_price_and_belong_to_the_keeper(
    deployment: Deployment, contracts: ChainContracts
) -> None:
    for market in deployment.markets:
        oracle = contracts.oracles[market.symbol].functions
        assert oracle.decimals().call() == market.oracle_decimals
        assert oracle.description().call() == market.oracle_description
        assert oracle.latestRoundData().call()[1] == market.oracle_answer
        assert oracle.owner().call() == deployment.wallet(Role.KEEPER).address


def test_funded_wallets_deposited(deployment: Deployment, contracts: ChainContracts) -> None:
    deposits = contracts.exchange.events.Deposited().get_logs(from_block=deployment.start_block)
    funded = [w.address for w in deployment.wallets if w.role in FUNDED_ROLES]
    assert sorted((e["args"]["trader"], e["args"]["amount"]) for e in deposits) == sorted(
        (address, demo_funding()) for address in funded
    )
    vault = contracts.collateral.functions.balanceOf(contracts.exchange.address).call()
    assert vault == demo_funding() * len(funded)


def test_fund_more_wallets(anvil: Anvil, web3: Web3, contracts: ChainContracts) -> None:
    extra = anvil.accounts[-1]
    receipt = fund(web3, contracts, Account.from_key(extra.private_key), 123)

    (deposit,) = contracts.exchange.events.Deposited().process_receipt(receipt, errors=DISCARD)
    assert dict(deposit["args"]) == {"trader": extra.address, "amount": 123}


def test_admin_only_listing(
    anvil: Anvil, web3: Web3, deployment: Deployment, contracts: ChainContracts
) -> None:
    btc = default_markets()[0]
    call = contracts.markets.functions.list_market(
        "X-PERP", deployment.contracts.oracles[btc.symbol], btc.tick_size, btc.lot_size,
        btc.max_leverage, btc.initial_margin_ppm, btc.maintenance_margin_ppm,
        btc.maker_fee_ppm, btc.taker_fee_ppm,
    )  # fmt: skip
    with pytest.raises(ContractLogicError):
        call.call({"from": deployment.wallet(Role.TRADER).address})
