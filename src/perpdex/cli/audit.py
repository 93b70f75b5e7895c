"""Audit the operator with no key: the published journal's hash chain, every on-chain
checkpoint, a replay of the engine against the chain's fills, and price-time priority by an
independent matcher (docs/audit.md). Exits 0 when all holds, 1 naming the first discrepancy."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from perpdex.chain.deployment import DEFAULT_DEPLOYMENT_PATH

    parser.add_argument("--deployment", type=Path, default=DEFAULT_DEPLOYMENT_PATH)
    parser.add_argument(
        "--journal",
        help="a journal file, or the node's HTTP API URL (or its /journal, or the gateway's"
        " WebSocket URL); default: the deployment's web_url",
    )
    parser.add_argument(
        "--receipts", type=Path, help="a directory of receipts to check against the journal"
    )
    parser.add_argument(
        "--from-seq",
        type=int,
        default=1,
        help="check the hash chain and checkpoints from here on, anchored at the checkpoint"
        " before it (the replay needs the journal from genesis and is left out)",
    )
    parser.add_argument(
        "--shard",
        type=_shard,
        help="a cluster engine shard's journal (asked of the cluster reader as /journal?shard=K,"
        " or an exported file): checked against that shard's checkpoints and receipts;"
        " settlement, the whole exchange's, is left out"
        " (default: the embedded node's journal, shard 0)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def _shard(text: str) -> int:
    shard = int(text)
    if not 0 <= shard < 2**16:
        raise argparse.ArgumentTypeError("a shard is 0 to 65535 (a uint16 on chain)")
    return shard


def run(args: argparse.Namespace) -> int:
    import msgspec

    from perpdex.audit.audit import audit_deployment
    from perpdex.audit.source import JournalUnavailableError
    from perpdex.chain.deployment import load_deployment
    from perpdex.core.types import ShardId

    deployment = load_deployment(args.deployment)
    journal = args.journal or deployment.web_url or deployment.gateway_url
    if journal is None:
        print("no journal: pass --journal (the deployment names no node)")
        return 2
    try:
        report = audit_deployment(
            deployment,
            journal,
            receipts=args.receipts,
            from_seq=args.from_seq,
            shard=None if args.shard is None else ShardId(args.shard),
        )
    except JournalUnavailableError as error:
        print(f"cannot read the journal: {error}")
        return 2
    if args.json:
        print(msgspec.json.encode(report.as_json()).decode())
    else:
        print(report.text())
    return 0 if report.ok else 1
