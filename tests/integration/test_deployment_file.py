"""perpdex.chain.deployment: the deployment file round-trips and bad files fail clearly."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from perpdex.chain.anvil import dev_accounts
from perpdex.chain.deploy import demo_wallets, with_admin_key
from perpdex.chain.deployment import (
    Contracts,
    Deployment,
    DeploymentFileError,
    ListedMarket,
    Role,
    load_deployment,
    write_deployment,
)
from perpdex.chain.markets import default_markets
from perpdex.core.types import Address, MarketId

EXCHANGE = Address("0x5FbDB2315678afecb367f032d93F642f64180aa3")
COLLATERAL = Address("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
ORACLE = Address("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
MARKETS = Address("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9")
LIQUIDATIONS = Address("0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9")
CHECKPOINTS = Address("0x5FC8d32690cc91D4c39d9d3abcBD16989F875707")


@pytest.fixture
def deployment() -> Deployment:
    btc = default_markets()[0]
    return Deployment(
        chain_id=31337,
        rpc_url="http://127.0.0.1:8545",
        start_block=3,
        contracts=Contracts(
            EXCHANGE, COLLATERAL, {btc.symbol: ORACLE}, MARKETS, LIQUIDATIONS, CHECKPOINTS
        ),
        abi={"Exchange": [{"type": "function", "name": "operator", "inputs": []}]},
        markets=(ListedMarket(**asdict(btc), id=MarketId(0)),),
        wallets=demo_wallets(dev_accounts()),
    )


def test_round_trip(deployment: Deployment, tmp_path: Path) -> None:
    path = write_deployment(deployment, tmp_path / "nested" / "local.json")
    assert load_deployment(path) == deployment


def test_schema(deployment: Deployment, tmp_path: Path) -> None:
    data = json.loads(write_deployment(deployment, tmp_path / "local.json").read_text())
    assert set(data) == {
        "chain_id", "rpc_url", "start_block", "contracts", "abi", "markets", "wallets",
        "gateway_url", "web_url",
    }  # fmt: skip
    assert data["contracts"]["oracles"] == {"BTC-PERP": ORACLE}
    assert data["markets"][0]["id"] == 0
    assert data["markets"][0]["tick_size"] == default_markets()[0].tick_size
    assert [w["role"] for w in data["wallets"]] == [role.value for role in Role]
    assert all(w["local_only"] is True for w in data["wallets"])
    assert data["gateway_url"] is None
    assert data["web_url"] is None


def test_lookups(deployment: Deployment) -> None:
    assert deployment.wallet(Role.OPERATOR).address == dev_accounts()[1].address
    assert deployment.market("BTC-PERP").id == 0
    with pytest.raises(KeyError):
        deployment.market("DOGE-PERP")


def test_user_supplied_admin_key_is_not_written(deployment: Deployment, tmp_path: Path) -> None:
    user_key = "0x" + "11" * 32
    wallets = with_admin_key(deployment.wallets, user_key)
    path = write_deployment(replace(deployment, wallets=wallets), tmp_path / "local.json")

    assert user_key.removeprefix("0x") not in path.read_text()
    admin = load_deployment(path).wallet(Role.ADMIN)
    assert admin.private_key is None
    with pytest.raises(ValueError, match="not in the deployment"):
        admin.account()


def test_missing_file_says_to_deploy(tmp_path: Path) -> None:
    with pytest.raises(DeploymentFileError, match="perpdex deploy"):
        load_deployment(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("contracts"), "missing required field `contracts`"),
        (lambda d: d.update(chain_id="31337"), r"Expected `int`, got `str` - at `\$.chain_id`"),
        (lambda d: d["contracts"].update(exchange="0xabc"), "not a checksummed address"),
        (lambda d: d["markets"][0].update(lot_size=3), "not a multiple of SIZE_SCALE"),
        (lambda d: d["wallets"][1].update(role="janitor"), "Invalid enum value 'janitor'"),
        (
            lambda d: d["wallets"][1].update(private_key=d["wallets"][2]["private_key"]),
            "private key does not match",
        ),
    ],
)
def test_invalid_file_names_the_problem(
    deployment: Deployment, tmp_path: Path, edit: Callable[[dict[str, Any]], object], message: str
) -> None:
    path = write_deployment(deployment, tmp_path / "local.json")
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DeploymentFileError, match=message):
        load_deployment(path)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    path.write_text("{not json")
    with pytest.raises(DeploymentFileError, match=r"local\.json: JSON is malformed"):
        load_deployment(path)
