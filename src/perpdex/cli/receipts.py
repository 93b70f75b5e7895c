"""Show the operator's signed receipts of your orders, as the SDK kept them: each order's
engine shard and journal seq, the chain head after it and its time stamp
(docs/checkpoints.md, "Receipts"); or, with ``--prove``, put the operator's fault on record
on-chain from two of its receipts for one shard and seq with different heads, or from one
that contradicts its shard's checkpoint at its seq.
``perpdex audit --receipts DIR`` checks them against the journal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from perpdex.cli.console import table
from perpdex.sdk.options import add_trader_arguments, run_trader_command, wallet_of

if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment
    from perpdex.receipts import SignedReceipt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--order", help="only the receipts of this order hash (0x-hex)")
    parser.add_argument("--json", action="store_true", help="one JSON array of receipt files")
    parser.add_argument(
        "--prove",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="receipt files: two for one shard and seq with different heads, or one against"
        " its shard's checkpoint at its seq; sends the proof from the key options' wallet",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dir", type=Path, help="a receipts directory (default: the wallet's)")
    where.add_argument(
        "--address", help="any trader's receipts in --state-dir (default: the key's wallet)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="the SDK's state directory (default: $PERPDEX_STATE_DIR or ~/.local/state/perpdex)",
    )
    add_trader_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.prove is not None:
        return run_trader_command(prove, args)
    if args.dir is None:
        return run_trader_command(lambda a, deployment: show(a, trader_dir(a, deployment)), args)
    try:  # a directory is read without the deployment file
        return show(args, args.dir)
    except ValueError as error:  # a corrupt receipt file, a malformed --order
        print(f"error: {error}", file=sys.stderr)
        return 1


def trader_dir(args: argparse.Namespace, deployment: Deployment) -> Path:
    """The trader's receipts directory under the state directory."""
    from perpdex.gateway.protocol import parse_address
    from perpdex.receipts import trader_directory
    from perpdex.sdk.nonces import default_state_dir

    trader = (
        wallet_of(args, deployment).address if args.address is None else parse_address(args.address)
    )
    return trader_directory(
        args.state_dir or default_state_dir(),
        deployment.chain_id,
        deployment.contracts.checkpoints,
        trader,
    )


def show(args: argparse.Namespace, directory: Path) -> int:
    """Print the receipts of ``directory`` (of ``--order``, if given)."""
    import msgspec

    from perpdex.gateway.protocol import parse_order_hash
    from perpdex.receipts import ReceiptStore, stored

    store = ReceiptStore(directory)
    order = None if args.order is None else parse_order_hash(args.order)
    receipts = list(store) if order is None else store.for_order(order)
    if args.json:
        print(msgspec.json.encode([stored(r) for r in receipts]).decode())
        return 0
    if not receipts:
        print(f"no receipts in {store.directory}", file=sys.stderr)
        return 0 if args.order is None else 1
    print(format_receipts(receipts))
    return 0


def prove(args: argparse.Namespace, deployment: Deployment) -> int:
    """Send the proof of ``--prove``'s receipt files; print what the chain recorded."""
    from perpdex.receipts import load
    from perpdex.sdk.chain_client import ChainClient

    if len(args.prove) > 2:
        raise ValueError("--prove takes one receipt file (against its checkpoint) or two")
    receipts = [load(path) for path in args.prove]
    chain = ChainClient(deployment, wallet_of(args, deployment))
    if len(receipts) == 2:
        recorded = chain.prove_equivocation(*receipts)
    else:
        recorded = chain.prove_contradiction(receipts[0])
    at = f"shard {receipts[0].receipt.shard} seq {receipts[0].receipt.seq}"
    if recorded:
        print(f"the operator's fault at {at} is on record: the Exchange settles no more")
    else:
        print(f"a valid proof at {at}, but a fault was already on record")
    return 0


def format_receipts(receipts: list[SignedReceipt]) -> str:
    """One row per receipt, in journal order (shard, then seq)."""
    from datetime import UTC, datetime

    rows: list[tuple[str, ...]] = [
        (
            str(r.receipt.shard),
            str(r.receipt.seq),
            "0x" + r.receipt.order_hash.hex(),
            "0x" + r.receipt.head.hex(),
            datetime.fromtimestamp(r.receipt.time / 1000, UTC).isoformat(timespec="milliseconds"),
            r.signer,
        )
        for r in receipts
    ]
    return table(("shard", "seq", "order", "head after it", "time", "signed by"), rows)
