"""Deploy perpdex to a JSON-RPC node: MockUSDC, one MockAggregator per market, the Markets
registry, the Exchange (with its Liquidations extension) and Checkpoints; list the markets
and fund the demo wallets.

    with Anvil() as node:
        deployment = deploy(node.rpc_url, demo_wallets(node.accounts))
        write_deployment(deployment, path)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from perpdex.chain.anvil import DevAccount
from perpdex.chain.artifacts import Artifact, compile_contract
from perpdex.chain.deployment import Contracts, DemoWallet, Deployment, ListedMarket, Role
from perpdex.chain.markets import MarketSpec, default_markets
from perpdex.chain.transact import TransactionFailedError, connect, send
from perpdex.core.types import Address, Collateral, MarketId
from perpdex.core.units import to_collateral_units

EXCHANGE_SOURCE = "Exchange.vy"
MARKETS_SOURCE = "Markets.vy"
LIQUIDATIONS_SOURCE = "Liquidations.vy"
CHECKPOINTS_SOURCE = "Checkpoints.vy"
COLLATERAL_SOURCE = "mocks/MockUSDC.vy"
ORACLE_SOURCE = "mocks/MockAggregator.vy"

FUNDED_ROLES = frozenset({Role.MAKER, Role.TRADER})
"""Demo roles that trade, so :func:`deploy` deposits collateral for them."""


def demo_funding() -> Collateral:
    """What each funded demo wallet deposits: 1,000,000 USDC."""
    return to_collateral_units("1000000")


@dataclass(frozen=True, slots=True)
class ChainContracts:
    """The deployed contracts as web3 objects (see :func:`bind`)."""

    exchange: Contract
    collateral: Contract
    oracles: dict[str, Contract]
    """Market symbol -> its MockAggregator."""
    markets: Contract
    checkpoints: Contract


@dataclass(frozen=True, slots=True)
class _Artifacts:
    exchange: Artifact
    liquidations: Artifact
    markets: Artifact
    checkpoints: Artifact
    collateral: Artifact
    oracle: Artifact

    @classmethod
    def compile(cls) -> _Artifacts:
        liquidations = compile_contract(LIQUIDATIONS_SOURCE)
        return cls(
            with_extension_events(compile_contract(EXCHANGE_SOURCE), liquidations),
            liquidations,
            compile_contract(MARKETS_SOURCE),
            compile_contract(CHECKPOINTS_SOURCE),
            compile_contract(COLLATERAL_SOURCE),
            compile_contract(ORACLE_SOURCE),
        )

    def published(self) -> tuple[Artifact, ...]:
        """The artifacts whose ABIs a deployment file points to."""
        return (self.exchange, self.markets, self.checkpoints, self.collateral, self.oracle)


def with_extension_events(exchange: Artifact, extension: Artifact) -> Artifact:
    """``exchange`` with the events its delegatecall extension emits from the Exchange's
    address (``Liquidated``, ``InsuranceDrawn``, ...) added to its ABI, so one contract
    object decodes every log of the Exchange."""
    names = {entry["name"] for entry in exchange.abi if entry["type"] == "event"}
    extra = [e for e in extension.abi if e["type"] == "event" and e["name"] not in names]
    return replace(exchange, abi=[*exchange.abi, *extra])


def demo_wallets(accounts: Sequence[DevAccount]) -> tuple[DemoWallet, ...]:
    """One wallet per :class:`Role`, in order: admin = account 0, operator = account 1, ..."""
    if len(accounts) < len(Role):
        raise ValueError(f"{len(Role)} dev accounts are needed, got {len(accounts)}")
    return tuple(
        DemoWallet(role, account.address, account.private_key)
        for role, account in zip(Role, accounts, strict=False)
    )


def with_admin_key(wallets: Sequence[DemoWallet], admin_key: str) -> tuple[DemoWallet, ...]:
    """``wallets`` with the admin replaced by ``admin_key``'s account, whose key is left out
    (so a user-supplied key is never written to a deployment file)."""
    admin = DemoWallet(Role.ADMIN, Address(Account.from_key(admin_key).address), None)
    return (admin, *(wallet for wallet in wallets if wallet.role is not Role.ADMIN))


def deploy(
    rpc_url: str,
    wallets: Sequence[DemoWallet],
    *,
    admin_key: str | None = None,
    markets: Iterable[MarketSpec] | None = None,
    funding: Collateral | None = None,
) -> Deployment:
    """Deploy MockUSDC, one MockAggregator per market, Markets, Liquidations, the Exchange
    and Checkpoints, and list ``markets`` (default :func:`default_markets`).

    The admin (``admin_key``, default the ``admin`` wallet's key) deploys and lists; the
    ``operator`` wallet becomes the Exchange and Checkpoints operator; the ``keeper`` wallet,
    if any, posts funding and receives the mock oracles' ownership (it pushes prices; without
    a keeper the admin posts funding); every wallet of :data:`FUNDED_ROLES`
    deposits ``funding`` (default :func:`demo_funding`). The deployment carries the ABIs;
    the deployment file is not written (see ``write_deployment``).
    """
    by_role = {wallet.role: wallet for wallet in wallets}
    admin = Account.from_key(_admin_key(by_role, admin_key))
    if Role.OPERATOR not in by_role:
        raise ValueError("an operator wallet is required")
    specs = tuple(markets if markets is not None else default_markets())
    artifacts = _Artifacts.compile()
    web3 = connect(rpc_url)

    collateral = _deploy(web3, admin, artifacts.collateral)
    oracles = {spec.symbol: _deploy_oracle(web3, admin, artifacts.oracle, spec) for spec in specs}
    operator = by_role[Role.OPERATOR].address
    funding_keeper = by_role[Role.KEEPER].address if Role.KEEPER in by_role else admin.address
    # Read before the contracts exist, so no event of theirs is older than this block.
    start_block = web3.eth.block_number
    registry = _deploy(web3, admin, artifacts.markets, funding_keeper)
    liquidations = _deploy(web3, admin, artifacts.liquidations, registry.address)
    # before the Exchange, which refuses batches once a fault is proven there
    checkpoints = _deploy(web3, admin, artifacts.checkpoints, operator)
    exchange = _deploy(
        web3,
        admin,
        artifacts.exchange,
        collateral.address,
        registry.address,
        liquidations.address,
        checkpoints.address,
        operator,
    )
    listed = tuple(
        _list_market(web3, admin, registry, spec, oracles[spec.symbol].address) for spec in specs
    )
    if Role.KEEPER in by_role:
        for oracle in oracles.values():
            send(web3, admin, oracle.functions.transfer_ownership(by_role[Role.KEEPER].address))

    amount = funding if funding is not None else demo_funding()
    deployed = ChainContracts(exchange, collateral, oracles, registry, checkpoints)
    for wallet in wallets:
        if wallet.role in FUNDED_ROLES and wallet.private_key is not None:
            fund(web3, deployed, wallet.account(), amount)

    return Deployment(
        chain_id=web3.eth.chain_id,
        rpc_url=rpc_url,
        start_block=start_block,
        contracts=Contracts(
            exchange=Address(exchange.address),
            collateral=Address(collateral.address),
            oracles={symbol: Address(oracle.address) for symbol, oracle in oracles.items()},
            markets=Address(registry.address),
            liquidations=Address(liquidations.address),
            checkpoints=Address(checkpoints.address),
        ),
        abi={artifact.name: artifact.abi for artifact in artifacts.published()},
        markets=listed,
        wallets=tuple(wallets),
    )


def bind(web3: Web3, deployment: Deployment) -> ChainContracts:
    """web3 contract objects of a deployment, with the ABIs it carries."""

    def contract(address: Address, name: str) -> Contract:
        abi = deployment.abi[name]
        return web3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)

    addresses = deployment.contracts
    oracle_name = Path(ORACLE_SOURCE).stem
    return ChainContracts(
        exchange=contract(addresses.exchange, Path(EXCHANGE_SOURCE).stem),
        collateral=contract(addresses.collateral, Path(COLLATERAL_SOURCE).stem),
        oracles={symbol: contract(a, oracle_name) for symbol, a in addresses.oracles.items()},
        markets=contract(addresses.markets, Path(MARKETS_SOURCE).stem),
        checkpoints=contract(addresses.checkpoints, Path(CHECKPOINTS_SOURCE).stem),
    )


def fund(web3: Web3, contracts: ChainContracts, owner: LocalAccount, amount: int) -> TxReceipt:
    """Mint ``amount`` MockUSDC to ``owner`` from the faucet and deposit it into the Exchange;
    returns the deposit's receipt."""
    send(web3, owner, contracts.collateral.functions.faucet(owner.address, amount))
    send(web3, owner, contracts.collateral.functions.approve(contracts.exchange.address, amount))
    return send(web3, owner, contracts.exchange.functions.deposit(amount))


def credit(
    web3: Web3, contracts: ChainContracts, funder: LocalAccount, to: Sequence[tuple[str, int]]
) -> None:
    """Mint the total to ``funder`` once, then deposit each amount for its address
    (``deposit_for``): the credited traders need no ether, and one faucet call is faster
    than one per trader."""
    total = sum(amount for _, amount in to)
    collateral, exchange = contracts.collateral, contracts.exchange
    send(web3, funder, collateral.functions.faucet(funder.address, total))
    send(web3, funder, collateral.functions.approve(exchange.address, total))
    for address, amount in to:
        send(web3, funder, exchange.functions.deposit_for(address, amount))


def _admin_key(by_role: dict[Role, DemoWallet], admin_key: str | None) -> str:
    wallet = by_role.get(Role.ADMIN)
    key = admin_key or (wallet.private_key if wallet else None)
    if key is None:
        raise ValueError("no admin key: pass admin_key or an admin wallet with its key")
    if wallet is not None and Account.from_key(key).address != wallet.address:
        raise ValueError("admin_key does not belong to the admin wallet")
    return key


def _deploy_oracle(
    web3: Web3, admin: LocalAccount, artifact: Artifact, spec: MarketSpec
) -> Contract:
    return _deploy(
        web3, admin, artifact, spec.oracle_decimals, spec.oracle_description, spec.oracle_answer
    )


def _deploy(web3: Web3, deployer: LocalAccount, artifact: Artifact, *args: object) -> Contract:
    factory = web3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(web3, deployer, factory.constructor(*args))
    address = receipt["contractAddress"]
    if address is None:
        raise TransactionFailedError(f"deploying {artifact.name} created no contract")
    return web3.eth.contract(address=address, abi=artifact.abi)


def _list_market(
    web3: Web3, admin: LocalAccount, markets: Contract, spec: MarketSpec, oracle: str
) -> ListedMarket:
    receipt = send(
        web3,
        admin,
        markets.functions.list_market(
            spec.symbol,
            oracle,
            spec.tick_size,
            spec.lot_size,
            spec.max_leverage,
            spec.initial_margin_ppm,
            spec.maintenance_margin_ppm,
            spec.maker_fee_ppm,
            spec.taker_fee_ppm,
        ),
    )
    # The receipt also holds the listing's other events: skip them rather than warn.
    (event,) = markets.events.MarketListed().process_receipt(receipt, errors=DISCARD)
    return ListedMarket(**asdict(spec), id=MarketId(event["args"]["market"]))
