"""Checkpoints.prove_contradiction: an operator receipt that differs from the checkpoint
posted at its seq puts the fault on record; a matching one, or one for a seq no checkpoint
names, does not."""

from __future__ import annotations

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from eth_keys.constants import SECPK1_N
from tests.unitary.checkpoints.log import head
from tests.unitary.checkpoints.receipts import (
    NO_FAULT,
    OUTSIDER_KEY,
    arg,
    fault_events,
    signed,
    with_signature,
)


@pytest.fixture
def posted(checkpoints: VyperContract, operator: str, shard: int) -> VyperContract:
    """Checkpoints 1 and 2 at seqs 5 and 9, heads 5 and 9."""
    with boa.env.prank(operator):
        checkpoints.post(shard, 5, head(5))
        checkpoints.post(shard, 9, head(9))
    return checkpoints


def assert_no_fault(checkpoints: VyperContract) -> None:
    assert checkpoints.faulted() is False
    assert checkpoints.fault() == NO_FAULT


def test_a_receipt_against_its_checkpoint_proves_the_fault(
    posted: VyperContract, outsider: str, shard: int
) -> None:
    lie = arg(signed(posted, shard, 9, head(99)))
    with boa.env.prank(outsider):
        recorded = posted.prove_contradiction(lie, 2)

    assert recorded is True
    assert fault_events(posted) == [(shard, 9, head(99), head(9), 2, outsider)]
    assert posted.faulted() is True
    assert posted.fault() == (shard, 9, head(99), head(9), 2, boa.env.evm.patch.timestamp)


def test_a_second_proof_changes_nothing(posted: VyperContract, shard: int) -> None:
    posted.prove_contradiction(arg(signed(posted, shard, 9, head(99))), 2)
    fault = posted.fault()
    assert posted.prove_contradiction(arg(signed(posted, shard, 5, head(55))), 1) is False
    assert fault_events(posted) == []
    assert posted.fault() == fault


def test_a_receipt_matching_its_checkpoint_is_no_proof(posted: VyperContract, shard: int) -> None:
    with boa.reverts("checkpoints: the receipt matches the checkpoint"):
        posted.prove_contradiction(arg(signed(posted, shard, 9, head(9))), 2)
    assert_no_fault(posted)


@pytest.mark.parametrize(("seq", "index"), [(7, 1), (7, 2), (9, 1), (5, 2)])
def test_a_receipt_for_a_seq_the_checkpoint_is_not_at_is_no_proof(
    posted: VyperContract, seq: int, index: int, shard: int
) -> None:
    with boa.reverts("checkpoints: the checkpoint is at another seq"):
        posted.prove_contradiction(arg(signed(posted, shard, seq, head(99))), index)
    assert_no_fault(posted)


@pytest.mark.parametrize("index", [0, 3, 2**256 - 1])
def test_no_such_checkpoint(posted: VyperContract, index: int, shard: int) -> None:
    with boa.reverts("checkpoints: no such checkpoint"):
        posted.prove_contradiction(arg(signed(posted, shard, 9, head(99))), index)
    assert_no_fault(posted)


def test_a_receipt_signed_by_anyone_else_is_no_proof(posted: VyperContract, shard: int) -> None:
    with boa.reverts("checkpoints: receipt not signed by the operator"):
        posted.prove_contradiction(arg(signed(posted, shard, 9, head(99), key=OUTSIDER_KEY)), 2)
    assert_no_fault(posted)


def test_a_high_s_signature_is_refused(posted: VyperContract, shard: int) -> None:
    lie = signed(posted, shard, 9, head(99))
    sig = lie.signature
    with boa.reverts("ecdsa: invalid signature `s` value"):
        posted.prove_contradiction(with_signature(lie, 55 - sig.v, sig.r, SECPK1_N - sig.s), 2)
    assert_no_fault(posted)


def test_posting_goes_on_after_a_fault(posted: VyperContract, operator: str, shard: int) -> None:
    posted.prove_contradiction(arg(signed(posted, shard, 9, head(99))), 2)
    with boa.env.prank(operator):
        assert posted.post(shard, 12, head(12)) == 3  # the log stays the evidence it was
