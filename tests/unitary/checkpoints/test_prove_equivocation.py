"""Checkpoints.prove_equivocation: two operator receipts for one seq with different heads
put the fault on record for good; nothing else does, so an honest operator cannot be framed."""

from __future__ import annotations

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from eth_keys.constants import SECPK1_N
from tests.unitary.checkpoints.log import CHECKPOINTS, MAX_UINT64, head
from tests.unitary.checkpoints.receipts import (
    NO_FAULT,
    OUTSIDER_KEY,
    arg,
    fault_events,
    signed,
    with_signature,
)


def assert_no_fault(checkpoints: VyperContract) -> None:
    assert checkpoints.faulted() is False
    assert checkpoints.fault() == NO_FAULT


def test_two_heads_for_one_seq_prove_the_fault(
    checkpoints: VyperContract, outsider: str, shard: int
) -> None:
    first = signed(checkpoints, shard, 7, head(1), order=1)
    second = signed(checkpoints, shard, 7, head(2), order=2)
    boa.env.time_travel(seconds=30)
    with boa.env.prank(outsider):  # anyone may prove it
        recorded = checkpoints.prove_equivocation(arg(first), arg(second))

    assert recorded is True
    assert fault_events(checkpoints) == [(shard, 7, head(1), head(2), 0, outsider)]
    assert checkpoints.faulted() is True
    assert checkpoints.fault() == (shard, 7, head(1), head(2), 0, boa.env.evm.patch.timestamp)


def test_a_second_proof_changes_nothing(
    checkpoints: VyperContract, outsider: str, shard: int
) -> None:
    checkpoints.prove_equivocation(
        arg(signed(checkpoints, shard, 7, head(1))), arg(signed(checkpoints, shard, 7, head(2)))
    )
    fault = checkpoints.fault()
    with boa.env.prank(outsider):
        again = checkpoints.prove_equivocation(
            arg(signed(checkpoints, shard, 9, head(3))), arg(signed(checkpoints, shard, 9, head(4)))
        )

    assert again is False
    assert fault_events(checkpoints) == []
    assert checkpoints.fault() == fault


def test_the_same_receipt_twice_is_no_proof(checkpoints: VyperContract, shard: int) -> None:
    receipt = arg(signed(checkpoints, shard, 7, head(1)))
    with boa.reverts("checkpoints: the receipts agree"):
        checkpoints.prove_equivocation(receipt, receipt)
    assert_no_fault(checkpoints)


def test_two_orders_at_one_seq_with_one_head_is_no_proof(
    checkpoints: VyperContract, shard: int
) -> None:
    # the contract only judges heads; the same head cannot hold two orders, but that is
    # the audit's to report (it needs the journal entry)
    with boa.reverts("checkpoints: the receipts agree"):
        checkpoints.prove_equivocation(
            arg(signed(checkpoints, shard, 7, head(1), order=1)),
            arg(signed(checkpoints, shard, 7, head(1), order=2)),
        )
    assert_no_fault(checkpoints)


def test_receipts_for_different_seqs_are_no_proof(checkpoints: VyperContract, shard: int) -> None:
    with boa.reverts("checkpoints: receipts for different seqs"):
        checkpoints.prove_equivocation(
            arg(signed(checkpoints, shard, 7, head(1))), arg(signed(checkpoints, shard, 8, head(2)))
        )
    assert_no_fault(checkpoints)


@pytest.mark.parametrize("forged", ["first", "second"])
def test_a_receipt_signed_by_anyone_else_is_no_proof(
    checkpoints: VyperContract, forged: str, shard: int
) -> None:
    honest = arg(signed(checkpoints, shard, 7, head(1)))
    fake = arg(signed(checkpoints, shard, 7, head(2), key=OUTSIDER_KEY))
    pair = (fake, honest) if forged == "first" else (honest, fake)
    with boa.reverts("checkpoints: receipt not signed by the operator"):
        checkpoints.prove_equivocation(*pair)
    assert_no_fault(checkpoints)


def test_a_receipt_in_another_domain_is_no_proof(
    checkpoints: VyperContract, admin: str, operator: str, shard: int
) -> None:
    with boa.env.prank(admin):
        other = CHECKPOINTS.deploy(operator)
    elsewhere = arg(signed(other, shard, 7, head(2)))  # same key, another Checkpoints contract
    with boa.reverts("checkpoints: receipt not signed by the operator"):
        checkpoints.prove_equivocation(arg(signed(checkpoints, shard, 7, head(1))), elsewhere)
    assert_no_fault(checkpoints)


def test_a_high_s_signature_is_refused(checkpoints: VyperContract, shard: int) -> None:
    honest = signed(checkpoints, shard, 7, head(1))
    other = signed(checkpoints, shard, 7, head(2))
    sig = other.signature
    # the mirror signature recovers the same key: only the low-s bound refuses it
    mirrored = with_signature(other, 55 - sig.v, sig.r, SECPK1_N - sig.s)
    with boa.reverts("ecdsa: invalid signature `s` value"):
        checkpoints.prove_equivocation(arg(honest), mirrored)
    assert_no_fault(checkpoints)


@pytest.mark.parametrize("v", [0, 1, 26, 29])
def test_a_signature_with_a_bad_v_is_refused(
    checkpoints: VyperContract, v: int, shard: int
) -> None:
    honest = signed(checkpoints, shard, 7, head(1))
    other = signed(checkpoints, shard, 7, head(2))
    with boa.reverts("ecdsa: invalid signature"):
        checkpoints.prove_equivocation(
            arg(honest), with_signature(other, v, other.signature.r, other.signature.s)
        )
    assert_no_fault(checkpoints)


def test_a_rotated_out_key_proves_nothing(
    checkpoints: VyperContract, admin: str, outsider: str, shard: int
) -> None:
    first = arg(signed(checkpoints, shard, 7, head(1)))
    second = arg(signed(checkpoints, shard, 7, head(2)))
    with boa.env.prank(admin):
        checkpoints.set_operator(outsider)
    with boa.reverts("checkpoints: receipt not signed by the operator"):
        checkpoints.prove_equivocation(first, second)
    assert_no_fault(checkpoints)


def test_the_fault_keeps_its_widest_fields(checkpoints: VyperContract, shard: int) -> None:
    # the fault is stored packed: the highest seq must not spill into the shard or the time
    first = arg(signed(checkpoints, shard, MAX_UINT64, head(1)))
    second = arg(signed(checkpoints, shard, MAX_UINT64, head(2)))
    boa.env.time_travel(seconds=2**33)
    checkpoints.prove_equivocation(first, second)
    now = boa.env.evm.patch.timestamp
    assert checkpoints.fault() == (shard, MAX_UINT64, head(1), head(2), 0, now)
