"""``perpdex audit --shard K``: a cluster shard's journal against that shard's own checkpoint
log and receipts, on a real anvil; the other shards' logs neither help nor hurt it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.audit.operator_kit import Operator, operator_on
from web3 import Web3

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import demo_wallets, deploy
from perpdex.core.types import ShardId

SHARD = ShardId(3)


@pytest.fixture
def shard_operator(anvil: Anvil, web3: Web3, tmp_path: Path) -> Iterator[Operator]:
    """An operator running engine shard 3: its receipts name shard 3, its checkpoints go to
    shard 3's log."""
    deployment = deploy(anvil.rpc_url, demo_wallets(anvil.accounts))
    kit = operator_on(web3, deployment, tmp_path, SHARD)
    first, second, taker = kit.traders(3)
    kit.submit(
        kit.new_order(kit.signed(first, buy=False)),
        kit.new_order(kit.signed(second, buy=False)),
        kit.new_order(kit.signed(taker, buy=True, lots=2)),
    )
    assert kit.settle().settled
    kit.checkpoint()
    yield kit
    kit.close()


def test_a_shards_journal_passes_against_its_own_log(shard_operator: Operator) -> None:
    receipts = str(shard_operator.receipts.directory)
    code, report = shard_operator.audit(None, "--shard", str(SHARD), "--receipts", receipts)

    assert code == 0, report
    summary = report["summary"]
    assert (summary["shard"], summary["commands"], summary["fills"]) == (SHARD, 3, 2)
    assert (summary["checkpoints"], summary["checkpointsChecked"], summary["unchecked"]) == (
        1,
        1,
        0,
    )
    assert summary["receipts"] == 3
    # the chain's fills are every shard's: this journal alone cannot account for them
    assert any(line.startswith("settlement:") for line in report["notRun"])
    code, text = shard_operator.audit_text(None, "--shard", str(SHARD))
    assert code == 0 and "1 checked of 1 posted on shard 3" in text


def test_another_shards_log_and_receipts_are_not_this_journals(shard_operator: Operator) -> None:
    receipts = str(shard_operator.receipts.directory)
    code, report = shard_operator.audit(None, "--receipts", receipts)  # as shard 0's journal

    assert code == 0, report  # shard 0 has no checkpoint, so nothing contradicts
    summary = report["summary"]
    assert (summary["shard"], summary["checkpoints"], summary["unchecked"]) == (0, 0, 3)
    assert summary["receipts"] == 0
    set_aside = [line for line in report["notRun"] if "not the audited shard 0" in line]
    assert len(set_aside) == 3


def test_a_forged_head_in_the_shards_log_is_caught_there_only(shard_operator: Operator) -> None:
    shard_operator.submit(
        shard_operator.new_order(
            shard_operator.signed(shard_operator.traders(1)[0], buy=False, ticks=5)
        )
    )
    shard_operator.post_checkpoint(4, b"\x07" * 32)  # the operator commits another log

    code, report = shard_operator.audit(None, "--shard", str(SHARD))
    assert code == 1
    assert report["first"]["check"] == "checkpoint"
    assert report["first"]["seq"] == 4
    assert shard_operator.audit(None, "--shard", "4")[0] == 0  # an empty log: nothing posted
