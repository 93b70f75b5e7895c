"""Deploy perpdex (MockUSDC, mock oracles, Exchange) to a fresh anvil or a given node."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from perpdex.cli.console import plain, run_interruptible, serve, table

# The chain modules load web3, eth-account and vyper: they are imported in run(), so building
# the `perpdex` parser (which imports every command module) stays fast.
if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment

DEPLOYER_KEY_ENV = "PERPDEX_DEPLOYER_KEY"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, help="deployment file to write (default: deployments/local.json)"
    )
    parser.add_argument(
        "--rpc-url",
        help="deploy to this running node instead of starting anvil (demo wallets are the "
        "standard anvil dev accounts)",
    )
    parser.add_argument(
        "--deployer-key",
        help=f"admin key with --rpc-url (default: ${DEPLOYER_KEY_ENV}, else dev account 0); "
        "never written to the deployment file",
    )
    parser.add_argument("--chain-id", type=int, help="chain id of the started anvil")
    parser.add_argument(
        "--block-time",
        type=int,
        help="seconds per block of the started anvil, once deployed (default: a block per tx)",
    )
    parser.add_argument("--anvil-log", type=Path, help="file for the started anvil's log")
    parser.add_argument(
        "--keep-running", action="store_true", help="keep the started anvil up until Ctrl-C"
    )


def run(args: argparse.Namespace) -> int:
    return run_interruptible(_run, args)


def _run(args: argparse.Namespace) -> int:
    from web3.exceptions import Web3Exception

    from perpdex.chain.anvil import DEFAULT_CHAIN_ID, Anvil, AnvilError, dev_accounts
    from perpdex.chain.deploy import demo_wallets, deploy, with_admin_key
    from perpdex.chain.deployment import DEFAULT_DEPLOYMENT_PATH, write_deployment
    from perpdex.chain.transact import TransactionFailedError

    out: Path = args.out or DEFAULT_DEPLOYMENT_PATH
    if args.rpc_url is None and args.deployer_key is not None:
        print("error: --deployer-key is for --rpc-url", file=sys.stderr)
        return 2
    try:
        if args.rpc_url is not None:
            wallets = demo_wallets(dev_accounts())
            admin_key = args.deployer_key or os.environ.get(DEPLOYER_KEY_ENV)
            if admin_key:
                wallets = with_admin_key(wallets, admin_key)
            deployment = deploy(args.rpc_url, wallets, admin_key=admin_key)
            _report(deployment, write_deployment(deployment, out))
            return 0
        # Deploy with a block per transaction (no waiting on the clock), then slow down.
        node = Anvil(chain_id=args.chain_id or DEFAULT_CHAIN_ID, log_path=args.anvil_log)
        with node:
            deployment = deploy(node.rpc_url, demo_wallets(node.accounts))
            _report(deployment, write_deployment(deployment, out))
            if args.block_time is not None:
                node.set_block_time(args.block_time)
            return serve(node) if args.keep_running else 0
    except (
        AnvilError,
        TransactionFailedError,
        ConnectionError,
        Web3Exception,
        ValueError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _report(deployment: Deployment, path: Path) -> None:
    print(format_deployment(deployment))
    print(f"\ndeployment file: {path}")


def format_deployment(deployment: Deployment) -> str:
    """The deployment as plain-text tables: contracts, markets, wallets."""
    from perpdex.chain.deploy import FUNDED_ROLES
    from perpdex.core.units import from_price_units, from_size_units

    contracts = deployment.contracts
    sections = [
        f"perpdex on chain {deployment.chain_id} at {deployment.rpc_url}",
        table(
            ("contract", "address"),
            [
                ("Exchange", contracts.exchange),
                ("MockUSDC (collateral)", contracts.collateral),
                *((f"MockAggregator {s}", a) for s, a in contracts.oracles.items()),
            ],
        ),
        table(
            ("id", "market", "index price", "tick", "lot", "max lev.", "IM/MM ppm", "fees ppm"),
            [
                (
                    str(m.id),
                    m.symbol,
                    plain(from_price_units(m.index_price)),
                    plain(from_price_units(m.tick_size)),
                    plain(from_size_units(m.lot_size)),
                    f"{m.max_leverage}x",
                    f"{m.initial_margin_ppm}/{m.maintenance_margin_ppm}",
                    f"{m.maker_fee_ppm}/{m.taker_fee_ppm}",
                )
                for m in deployment.markets
            ],
        ),
        table(
            ("role", "address", "funded"),
            [
                (w.role.value, w.address, "yes" if w.role in FUNDED_ROLES else "")
                for w in deployment.wallets
            ],
        ),
    ]
    return "\n\n".join(sections)
