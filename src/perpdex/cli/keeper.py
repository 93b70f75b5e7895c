"""Run the keeper: liquidations, funding posts, oracle pushes (local chains), checkpoints."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from perpdex.cli.cluster_options import add_layout_arguments
from perpdex.cli.console import run_interruptible

if TYPE_CHECKING:  # web3 and vyper load slowly: imported in run(), so `--help` is fast
    from eth_account.signers.local import LocalAccount

    from perpdex.chain.deployment import Deployment
    from perpdex.core.types import MarketId
    from perpdex.keeper.price_path import PricePoint
    from perpdex.keeper.runner import Keeper, KeeperConfig

LOG_LEVEL = "info"
"""A service: what it does and why, at info."""
_TASKS = ("liquidator", "funding", "oracle", "checkpoint", "params")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deployment", type=Path, help="deployment file (default: deployments/local.json)"
    )
    parser.add_argument("--rpc-url", help="node to use instead of the deployment file's")
    parser.add_argument(
        "--key", help="keeper private key, 0x-hex (default: the deployment's keeper wallet)"
    )
    parser.add_argument(
        "--tasks",
        help=f"comma-separated subset of {','.join(_TASKS)} (default: every task whose "
        "inputs are given: oracle with a price path, funding with a gateway, checkpoint "
        "with a journal)",
    )
    add_price_path_arguments(parser, default="")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between price pushes and scans"
    )
    parser.add_argument(
        "--funding-tick", type=float, default=5.0, help="seconds between book samples"
    )
    parser.add_argument(
        "--checkpoint-interval", type=float, default=10.0, help="seconds between checkpoints"
    )
    parser.add_argument("--journal", type=Path, help="the engine's journal (checkpoint task)")
    parser.add_argument(
        "--gateway", help="ws://host:port of the gateway (default: the deployment file's)"
    )
    parser.add_argument(
        "--mode",
        choices=("hold", "hedge"),
        default="hold",
        help="what to do with positions taken over (hedge: reduce-only IOC via the gateway)",
    )
    add_layout_arguments(parser, nats_required=False)
    parser.add_argument(
        "--deposit",
        metavar="USDC",
        help="mint this much from the mock USDC faucet and deposit it as the liquidator's "
        "margin (local chains)",
    )


def run(args: argparse.Namespace) -> int:
    return run_interruptible(_run, args)


def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from web3.exceptions import Web3Exception

    from perpdex.chain.deployment import (
        DEFAULT_DEPLOYMENT_PATH,
        DeploymentFileError,
        Role,
        load_deployment,
    )
    from perpdex.chain.transact import TransactionFailedError
    from perpdex.keeper.price_path import PricePathError
    from perpdex.keeper.runner import Keeper, KeeperConfig

    try:
        deployment = load_deployment(args.deployment or DEFAULT_DEPLOYMENT_PATH)
        if args.rpc_url:
            deployment = replace(deployment, rpc_url=args.rpc_url)
        signer = _signer(args.key, deployment.wallet(Role.KEEPER).private_key)
        gateway = args.gateway or deployment.gateway_url
        paths = price_paths(args, deployment)
        clustered = args.nats is not None  # the books and journals come from the cluster
        config = KeeperConfig(
            tasks=_tasks(
                args.tasks,
                bool(paths),
                clustered or gateway is not None,
                clustered or args.journal is not None,
            ),
            interval_s=args.interval,
            funding_tick_s=args.funding_tick,
            checkpoint_interval_s=args.checkpoint_interval,
            journal=args.journal,
            mode=args.mode,
            gateway_url=gateway,
            price_paths=paths,
        )
        if clustered:
            return _run_clustered(args, deployment, signer, config)
        keeper = Keeper(deployment, signer, config)
        if args.deposit:
            _deposit(keeper, args.deposit)
        print(f"keeper {signer.address}: {', '.join(sorted(config.tasks))}", flush=True)
        asyncio.run(keeper.run())
    except (
        DeploymentFileError,
        PricePathError,
        TransactionFailedError,
        ConnectionError,
        OSError,
        Web3Exception,
        KeyError,
        ValueError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _run_clustered(
    args: argparse.Namespace, deployment: Deployment, signer: LocalAccount, config: KeeperConfig
) -> int:
    """The keeper of cluster mode, until Ctrl-C or SIGTERM (``--deposit`` is a one-off: run
    it embedded, without ``--nats``)."""
    from perpdex.cli.cluster_options import cluster_layout, nats_urls, serve_until_signalled
    from perpdex.cluster.errors import JetStreamUnavailableError
    from perpdex.cluster.keeper_process import ClusterKeeperConfig, KeeperProcess

    if args.deposit:
        raise ValueError("--deposit is not for cluster mode: run it once without --nats")
    process = KeeperProcess(
        ClusterKeeperConfig(deployment, nats_urls(args), cluster_layout(args), signer, config)
    )
    print(f"keeper {signer.address}: {', '.join(sorted(config.tasks))}", flush=True)
    try:
        return asyncio.run(serve_until_signalled(process))
    except JetStreamUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _signer(key: str | None, deployment_key: str | None) -> LocalAccount:
    from eth_account import Account

    chosen = key or deployment_key
    if chosen is None:
        raise ValueError("no keeper key: pass --key (the deployment file holds none)")
    signer: LocalAccount = Account.from_key(chosen)
    return signer


def _tasks(text: str | None, paths: bool, gateway: bool, journal: bool) -> frozenset[str]:
    if text is not None:
        return frozenset(task.strip() for task in text.split(",") if task.strip())
    have = {
        "liquidator": True,
        "params": True,
        "oracle": paths,
        "funding": gateway,
        "checkpoint": journal,
    }
    return frozenset(task for task, ok in have.items() if ok)


def add_price_path_arguments(parser: argparse.ArgumentParser, *, default: str) -> None:
    """The oracle pusher's options (``perpdex keeper`` and ``perpdex up``); ``default`` says
    what happens without them."""
    path = parser.add_mutually_exclusive_group()
    path.add_argument(
        "--price-path",
        action="append",
        metavar="[SYMBOL=]FILE",
        help="prices to push: one per line, or CSV time,price (repeat per market; without "
        f"SYMBOL= the first market){default}",
    )
    path.add_argument(
        "--random-walk", type=int, metavar="SEED", help="push a seeded random walk to every market"
    )
    parser.add_argument(
        "--volatility-ppm", type=int, default=2_000, help="random walk: sigma per interval"
    )


def price_paths(
    args: argparse.Namespace, deployment: Deployment
) -> dict[MarketId, Iterable[PricePoint]]:
    """The oracle price paths ``--price-path`` / ``--random-walk`` ask for, by market (also
    used by ``perpdex up``)."""
    from perpdex.chain.deploy import bind
    from perpdex.chain.transact import connect
    from perpdex.core.types import MarketId, Price
    from perpdex.keeper.price_path import RandomWalk, load_path

    paths: dict[MarketId, Iterable[PricePoint]] = {}
    for spec in args.price_path or ():
        symbol, _, file = spec.rpartition("=")
        market = deployment.market(symbol) if symbol else deployment.markets[0]
        paths[MarketId(market.id)] = load_path(Path(file), step_s=args.interval)
    if args.random_walk is not None:
        registry = bind(connect(deployment.rpc_url), deployment).markets
        for market in deployment.markets:
            # from the oracle's price now, so a restarted keeper continues, not jumps back
            price, _ = registry.functions.price(market.id).call()
            paths[MarketId(market.id)] = RandomWalk(
                seed=args.random_walk + market.id,
                start=Price(price),
                tick=market.tick_size,
                step_s=args.interval,
                volatility_ppm=args.volatility_ppm,
            )
    return paths


def _deposit(keeper: Keeper, amount: str) -> None:
    from perpdex.chain.deploy import bind, fund
    from perpdex.sdk.amounts import collateral_amount

    contracts = bind(keeper.web3, keeper.deployment)
    with keeper.sender.exclusive():
        fund(keeper.web3, contracts, keeper.sender.signer, collateral_amount(amount))
    print(f"deposited {amount} USDC as the liquidator's margin", flush=True)
