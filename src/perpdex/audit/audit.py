"""One audit: the journal read once, each entry hash-checked, compared with the checkpoints,
replayed by the engine and by the reference matcher side by side; then the replay's fills
against the chain's outcomes.

The chain is read *before* the journal (checkpoints, then the block the fills are read up
to), so the journal fetched afterwards holds every entry the chain can name: an entry is
journaled before its fills are sent for settlement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from web3 import Web3

from perpdex.audit.chain_cancels import ChainCancelCheck
from perpdex.audit.checkpoints import CheckpointCheck
from perpdex.audit.findings import Check, Discrepancy
from perpdex.audit.hash_chain import ChainCheck
from perpdex.audit.names import OrderNames
from perpdex.audit.onchain import ChainOutcome, NonceClosures, read_closures, read_outcomes
from perpdex.audit.priority import PriorityCheck
from perpdex.audit.receipts import ReceiptCheck, operators_of, read_receipts
from perpdex.audit.replay import MatchedFill, ReplaySink
from perpdex.audit.report import Report, Summary
from perpdex.audit.settlement import compare
from perpdex.audit.signatures import SignatureCheck
from perpdex.audit.source import PublishedEntry, open_source
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment
from perpdex.chain.transact import connect
from perpdex.core.eip712 import ChainId, Eip712Domain
from perpdex.core.types import EMBEDDED_SHARD, ShardId
from perpdex.engine.codec import DecodeError, decode
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.journal import GENESIS_HEAD, ChainHead
from perpdex.keeper.checkpoint import Checkpoint, read_checkpoints
from perpdex.receipts import receipt_domain
from perpdex.risk.from_chain import engine_markets

Published = Callable[[int, int], Iterable[PublishedEntry]]
"""The journal's entries from a sequence number on, as published, up to at least the
second number where the publisher has them (a receipt's seq)."""


@dataclass(frozen=True, slots=True)
class ChainView:
    checkpoints: list[Checkpoint]
    outcomes: list[ChainOutcome]
    block: int
    closures: Callable[[], NonceClosures] = NonceClosures
    """Read once the journal is read (up to the chain's head then)."""


@dataclass(frozen=True, slots=True)
class AuditSetup:
    markets: Sequence[MarketConfig]
    domain: Eip712Domain | None
    """The Exchange's signing domain (order hashes); None for a journal of unsigned orders."""
    chain: ChainView | None
    """None: the journal alone (hash chain, replay, priority)."""
    from_seq: int = 1
    self_trade_prevention: bool = True
    receipts: ReceiptCheck | None = None
    shard: ShardId | None = None
    """A cluster shard's journal (its checkpoints and receipts): the chain's fills are the
    whole exchange's, so settlement is left out. None: the embedded node's, shard 0."""


def deployment_setup(
    deployment: Deployment,
    web3: Web3,
    from_seq: int = 1,
    receipts: Path | None = None,
    shard: ShardId | None = None,
) -> AuditSetup:
    contracts = bind(web3, deployment)
    checkpoints = read_checkpoints(contracts.checkpoints, shard or EMBEDDED_SHARD)
    block = int(web3.eth.block_number)
    outcomes = read_outcomes(contracts.exchange, deployment.start_block, block)
    domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
    check = None
    if receipts is not None:
        held, set_aside = read_receipts(receipts)
        changes = contracts.checkpoints.events.OperatorChanged().get_logs(
            from_block=deployment.start_block, to_block=block
        )
        check = ReceiptCheck(
            held,
            receipt_domain(deployment.chain_id, deployment.contracts.checkpoints),
            operators_of(changes),
            OrderNames(domain),
            shard or EMBEDDED_SHARD,
        )
        check.set_aside += set_aside

    def closures() -> NonceClosures:
        head = int(web3.eth.block_number)
        return read_closures(contracts.exchange, deployment.start_block, head)

    return AuditSetup(
        markets=engine_markets(deployment),
        domain=domain,
        chain=ChainView(checkpoints, outcomes, block, closures),
        from_seq=from_seq,
        receipts=check,
        shard=shard,
    )


def audit_deployment(
    deployment: Deployment,
    journal: str,
    *,
    receipts: Path | None = None,
    from_seq: int = 1,
    shard: ShardId | None = None,
) -> Report:
    """``perpdex audit``: the deployment's chain read first, then ``journal`` (a path or URL),
    the embedded node's or, with ``shard``, that engine shard's."""
    web3 = connect(deployment.rpc_url)
    setup = deployment_setup(deployment, web3, from_seq, receipts, shard)
    return run_audit(partial(open_source, journal, shard=shard), setup)


def anchor_of(from_seq: int, checkpoints: Sequence[Checkpoint]) -> ChainHead:
    """Where an audit from ``from_seq`` starts: the latest checkpoint before it (an earlier
    audit checked what it commits to), or the genesis."""
    anchor = GENESIS_HEAD
    for checkpoint in checkpoints:
        if checkpoint.seq < from_seq:
            anchor = ChainHead(checkpoint.seq, checkpoint.head)
    return anchor


def run_audit(published: Published, setup: AuditSetup) -> Report:
    checkpoints = [] if setup.chain is None else setup.chain.checkpoints
    anchor = anchor_of(setup.from_seq, checkpoints)
    summary = Summary(
        shard=setup.shard or EMBEDDED_SHARD, first_seq=anchor.seq + 1, checkpoints=len(checkpoints)
    )
    found: list[Discrepancy] = []
    not_run: list[str] = []
    names = OrderNames(setup.domain)
    until = 0 if setup.receipts is None else setup.receipts.highest_seq
    chain = ChainCheck(published(anchor.seq + 1, until), anchor)
    committed = CheckpointCheck(checkpoints, anchor)
    replaying = anchor.seq == 0
    if not replaying:
        not_run.append(
            f"replay, price-time priority and settlement: they need the journal from genesis"
            f" (--from-seq {setup.from_seq} starts after checkpoint seq {anchor.seq})"
        )
    sink = ReplaySink()
    engine = Engine(setup.markets, sink, self_trade_prevention=setup.self_trade_prevention)
    priority = PriorityCheck(
        setup.markets, names, self_trade_prevention=setup.self_trade_prevention
    )
    keep = setup.chain is not None
    fills: list[MatchedFill] = []
    receipts = setup.receipts
    cancels = ChainCancelCheck(names)
    signatures = None if setup.domain is None else SignatureCheck(setup.domain, names)
    if signatures is None:
        not_run.append("signatures: no signing domain (a journal of unsigned orders)")
    decodes = True
    for entry in chain:
        summary.commands += 1
        committed.see(entry.seq, entry.head)
        if not decodes:
            continue
        try:
            seq, time, command = decode(entry.entry)
        except DecodeError as error:
            found.append(
                Discrepancy(Check.JOURNAL, entry.seq, f"the entry does not decode: {error}")
            )
            decodes = replaying = False
            continue
        if receipts is not None:
            receipts.see(seq, time, entry.head, command)
        cancels.see(seq, command)
        if signatures is not None:
            signatures.see(seq, command)
        if not replaying:
            continue
        engine.apply(seq, time, command)
        priority.apply(seq, time, command, sink.fills)
        summary.fills += len(sink.fills)
        if keep:
            fills += sink.fills
        sink.fills.clear()
    if chain.broken is not None:
        found.append(chain.broken)
    summary.last_seq, summary.head = chain.last.seq, "0x" + chain.last.head.hex()
    summary.unchecked = committed.end(chain.last)
    summary.checkpoints_checked = committed.checked
    summary.latest_checkpoint_seq = committed.latest.seq
    found += committed.found
    if priority.found is not None:
        found.append(priority.found)
    if signatures is not None:
        summary.signatures = signatures.checked
        found += signatures.found
    if receipts is not None:
        receipts.end(anchor, chain.last)
        summary.receipts = receipts.checked
        found += receipts.found
        not_run += receipts.set_aside
    if setup.chain is None:
        not_run.append("checkpoints and settlement: no chain")
    elif setup.shard is not None:
        not_run.append(
            f"settlement: the chain's fills are every shard's, the journal shard"
            f" {setup.shard}'s alone"
        )
        if replaying and chain.broken is None:
            found += cancels.end(setup.chain.closures())
    elif replaying and chain.broken is None:
        tally = compare(fills, sink.drops, setup.chain.outcomes, names)
        summary.settled, summary.rejected = tally.settled, tally.rejected
        summary.dropped, summary.pending = tally.dropped, tally.pending
        summary.resent = tally.resent
        summary.reasons = tally.reasons
        summary.block = setup.chain.block
        found += tally.found
        found += cancels.end(setup.chain.closures())
    elif replaying:
        not_run.append("settlement: the journal's hash chain is broken")
    return Report(summary, found, not_run)
