"""The web app's own routes: /config from the one definition of each part, demo wallets
on a local chain only, and no server at all for pages that were never built."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from tests.browser.browser_testing import offline_deployment, serving

from perpdex.chain.anvil import DEFAULT_CHAIN_ID, dev_accounts
from perpdex.chain.deployment import Deployment, Role
from perpdex.core.eip712 import DOMAIN_TYPE, ORDER_TYPE, RECEIPT_TYPE, ChainId, Eip712Domain
from perpdex.core.units import units
from perpdex.receipts import receipt_domain
from perpdex.webapp import STATIC_DIR, mount


def get(deployment: Deployment, path: str, static_dir: Path = STATIC_DIR) -> tuple[int, Any]:
    def read(url: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(url + path) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as refused:
            return refused.code, json.load(refused)

    async def scenario() -> tuple[int, Any]:
        app = Starlette()
        mount(app, lambda: deployment, static_dir)
        async with serving(app) as url:
            return await asyncio.to_thread(read, url)

    return asyncio.run(scenario())


SERVICE_ROLES = (Role.ADMIN, Role.OPERATOR, Role.KEEPER)


def local(deployment: Deployment) -> Deployment:
    return replace(deployment, chain_id=DEFAULT_CHAIN_ID, rpc_url="http://127.0.0.1:8545")


def test_config_is_the_python_definitions() -> None:
    status, config = get(offline_deployment(), "/config")
    assert status == 200
    domain = Eip712Domain(ChainId(8453), offline_deployment().contracts.exchange)
    assert config["eip712"]["domain"]["verifyingContract"] == domain.verifying_contract
    assert config["eip712"]["types"]["Order"] == ORDER_TYPE.eip712_fields()
    assert config["eip712"]["types"]["Receipt"] == RECEIPT_TYPE.eip712_fields()
    checkpoints = offline_deployment().contracts.checkpoints
    assert config["checkpoints"] == checkpoints
    receipts = config["eip712"]["receiptDomain"]
    assert receipts == DOMAIN_TYPE.message(receipt_domain(8453, checkpoints))
    assert config["units"]["sizeDecimals"] == units().size_decimals
    assert [m["symbol"] for m in config["markets"]] == ["BTC-PERP", "ETH-PERP"]
    assert config["localOnly"] is False
    assert config["rpcUrl"] is None  # another chain's RPC URL may carry an API key
    assert get(local(offline_deployment()), "/config")[1]["rpcUrl"] == "http://127.0.0.1:8545"


def test_demo_wallets_only_on_a_local_chain() -> None:
    status, refused = get(offline_deployment(), "/demo-wallets")
    assert (status, refused["code"]) == (403, "forbidden")
    remote = replace(local(offline_deployment()), rpc_url="http://10.0.0.7:8545")
    assert get(remote, "/demo-wallets")[0] == 403

    status, wallets = get(local(offline_deployment()), "/demo-wallets")
    assert status == 200
    trader = offline_deployment().wallet(Role.TRADER)
    assert wallets[0] == {"label": "trader (deployment)", "address": trader.address,
                          "privateKey": trader.private_key, "localOnly": True}  # fmt: skip
    offered = {w["address"] for w in wallets}
    services = {offline_deployment().wallet(r).address for r in SERVICE_ROLES}
    assert not offered & services  # a page must not send with a service's key
    assert len(wallets) == len(dev_accounts()) - len(services)


def test_an_unbuilt_web_app_says_what_to_run(tmp_path: Path) -> None:
    status, refused = get(offline_deployment(), "/", static_dir=tmp_path)
    assert (status, refused["code"]) == (503, "unavailable")
    assert "make setup" in refused["message"]
    assert get(offline_deployment(), "/config", static_dir=tmp_path)[0] == 200
