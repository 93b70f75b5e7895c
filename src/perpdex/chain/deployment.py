"""The deployment file: where a deployed perpdex lives and the demo wallets that use it.

Written by ``perpdex deploy`` (``deployments/local.json`` by default) and read by every
service, bot and test through :func:`load_deployment`, which validates it field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_checksum_address

from perpdex.chain.markets import MarketSpec
from perpdex.core.types import Address, MarketId
from perpdex.durable import write_atomic

DEFAULT_DEPLOYMENT_PATH = Path("deployments") / "local.json"

ABI = list[dict[str, Any]]


class DeploymentFileError(ValueError):
    """The deployment file is missing, not JSON, or does not match the schema."""


class Role(StrEnum):
    """What a demo wallet is for; the order is the anvil account index each role takes."""

    ADMIN = "admin"
    OPERATOR = "operator"
    KEEPER = "keeper"
    MAKER = "maker"
    TRADER = "trader"


@dataclass(frozen=True, slots=True)
class DemoWallet:
    role: Role
    address: Address
    private_key: str | None
    """0x-prefixed hex of a well-known dev key (hence ``local_only``); None for a key the user
    supplied, which is never written to disk."""
    local_only: bool = True

    def account(self) -> LocalAccount:
        """The signer of this wallet; ValueError if its key was left out of the file."""
        if self.private_key is None:
            raise ValueError(f"the {self.role} wallet's key is not in the deployment")
        account: LocalAccount = Account.from_key(self.private_key)
        return account

    def __post_init__(self) -> None:
        if self.private_key is None:
            return
        if Account.from_key(self.private_key).address != self.address:
            raise ValueError(f"{self.role} wallet: private key does not match {self.address}")


@dataclass(frozen=True, slots=True)
class Contracts:
    exchange: Address
    collateral: Address
    oracles: dict[str, Address]
    """Market symbol -> its price feed."""
    markets: Address
    """The Markets registry: listing, risk parameters, prices, funding."""
    liquidations: Address
    """The Exchange's delegatecall extension (its ABI's events are in the Exchange's)."""
    checkpoints: Address

    def __post_init__(self) -> None:
        for address in (
            self.exchange,
            self.collateral,
            *self.oracles.values(),
            self.markets,
            self.liquidations,
            self.checkpoints,
        ):
            if not is_checksum_address(address):
                raise ValueError(f"{address!r} is not a checksummed address")


@dataclass(frozen=True, slots=True, kw_only=True)
class ListedMarket(MarketSpec):
    """A market as listed: its spec plus the id ``list_market`` returned."""

    id: MarketId


@dataclass(frozen=True, slots=True)
class Deployment:
    chain_id: int
    rpc_url: str
    start_block: int
    """The block the Exchange was deployed in: where an event indexer starts."""
    contracts: Contracts
    abi: dict[str, ABI]
    """Contract name -> its ABI, in the file itself: a deployment file copied to another
    machine or folder needs nothing else (no build folder, no compiler)."""
    markets: tuple[ListedMarket, ...]
    wallets: tuple[DemoWallet, ...]
    gateway_url: str | None = None
    web_url: str | None = None
    """The node's HTTP API and web app (``perpdex up`` writes both URLs)."""

    def wallet(self, role: Role) -> DemoWallet:
        """The first wallet with ``role``; KeyError if there is none."""
        for wallet in self.wallets:
            if wallet.role is role:
                return wallet
        raise KeyError(f"no {role} wallet in the deployment")

    def market(self, symbol: str) -> ListedMarket:
        for market in self.markets:
            if market.symbol == symbol:
                return market
        raise KeyError(f"no market {symbol!r} in the deployment")


def write_deployment(deployment: Deployment, path: Path = DEFAULT_DEPLOYMENT_PATH) -> Path:
    """Write ``deployment`` as indented JSON, atomically (a reader never sees half a file)."""
    write_atomic(path, msgspec.json.format(msgspec.json.encode(deployment), indent=2) + b"\n")
    return path


def load_deployment(path: Path = DEFAULT_DEPLOYMENT_PATH) -> Deployment:
    """Read and validate a deployment file; :class:`DeploymentFileError` names the bad field."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=Deployment)
    except FileNotFoundError:
        raise DeploymentFileError(f"{path}: no deployment file (run `perpdex deploy`)") from None
    except (msgspec.DecodeError, ValueError) as error:
        raise DeploymentFileError(f"{path}: {error}") from None
