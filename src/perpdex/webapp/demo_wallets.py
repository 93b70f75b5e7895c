"""``GET /demo-wallets``: dev accounts a visitor of a *local* exchange may trade with.

Their keys derive from anvil's public mnemonic, so handing them to a page gives nothing
away, but only on a local chain: a deployment on any other chain (or whose node is not on
this machine) has no demo wallets, and the route refuses. The page labels each one
local-only. Service wallets (admin, operator, keeper) are never offered: a page sending
with the keeper's key would race the keeper for its nonces.
"""

from __future__ import annotations

from urllib.parse import urlparse

import msgspec

from perpdex.chain.anvil import DEFAULT_CHAIN_ID, dev_accounts
from perpdex.chain.deployment import Deployment, Role

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TRADING_ROLES = (Role.TRADER, Role.MAKER)
"""Deployment wallets a visitor may take over (funded at deployment; bots may use them)."""


class DemoWalletView(msgspec.Struct, rename="camel", frozen=True):
    label: str
    address: str
    private_key: str
    local_only: bool = True


class NotLocalError(Exception):
    """The deployment is not on a local dev chain: it has no demo wallets to offer."""


def is_local_only(deployment: Deployment) -> bool:
    """A dev chain (anvil's chain id) whose node listens on this machine's loopback."""
    return (
        deployment.chain_id == DEFAULT_CHAIN_ID
        and urlparse(deployment.rpc_url).hostname in LOOPBACK_HOSTS
    )


def demo_wallets(deployment: Deployment) -> list[DemoWalletView]:
    """The deployment's trader and maker, then, if its wallets are anvil's default dev
    accounts, every one of those it does not use (unfunded: the page's faucet mints them
    test collateral); NotLocalError unless :func:`is_local_only`."""
    if not is_local_only(deployment):
        raise NotLocalError(f"chain {deployment.chain_id} at {deployment.rpc_url} is not local")
    offered = [
        DemoWalletView(f"{wallet.role} (deployment)", wallet.address, wallet.private_key)
        for role in TRADING_ROLES
        for wallet in deployment.wallets
        if wallet.role is role and wallet.private_key is not None
    ]
    used = {wallet.address for wallet in deployment.wallets}
    accounts = dev_accounts()
    if used <= {account.address for account in accounts}:
        offered += [
            DemoWalletView(f"dev account {account.index}", account.address, account.private_key)
            for account in accounts
            if account.address not in used
        ]
    return offered
