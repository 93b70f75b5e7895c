"""One checkpoint log per engine shard: independent logs, and proofs that name their shard.

Each shard journals its own commands with its own seqs 1, 2, ..., so two shards' heads at
one seq differ for an honest operator: no post to one shard may touch another's log, two
receipts of different shards prove nothing, and a receipt is only ever compared with its
own shard's checkpoints. Conversely a lying operator cannot escape a proof by moving the
lie to another shard: the shard is signed into the receipt.
"""

from __future__ import annotations

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import GENESIS, head, posted_events, stored
from tests.unitary.checkpoints.receipts import NO_FAULT, arg, fault_events, signed

SPOT, PERPS = 0, 1  # two engine shards


@pytest.fixture
def both(checkpoints: VyperContract, operator: str) -> VyperContract:
    """Shard SPOT: checkpoints at seqs 5 and 9 (heads 5, 9); shard PERPS: one at seq 9 with
    head 109 (another journal, so another head at the same seq)."""
    with boa.env.prank(operator):
        checkpoints.post_batch(SPOT, [(5, head(5)), (9, head(9))])
        checkpoints.post(PERPS, 9, head(109))
    return checkpoints


def test_posting_one_shard_never_moves_another(checkpoints: VyperContract, operator: str) -> None:
    with boa.env.prank(operator):
        checkpoints.post(SPOT, 40, head(40))
    spot = (checkpoints.latest(SPOT), stored(checkpoints, SPOT))
    with boa.env.prank(operator):
        assert checkpoints.post(PERPS, 3, head(3)) == 1  # its own index 1, below SPOT's seq
        assert posted_events(checkpoints, PERPS) == [(1, 3, head(3), boa.env.evm.patch.timestamp)]
        assert checkpoints.post_batch(PERPS, [(4, head(4)), (40, head(41))]) == 3

    assert (checkpoints.latest(SPOT), stored(checkpoints, SPOT)) == spot
    assert checkpoints.count(SPOT) == 1
    assert checkpoints.count(PERPS) == 3
    assert checkpoints.latest(2) == (0, *GENESIS)  # an unused shard is at its genesis


def test_a_post_to_another_shard_cannot_rewrite_a_shard(both: VyperContract, operator: str) -> None:
    before = stored(both, SPOT)
    with boa.env.prank(operator):
        both.post(PERPS, 10, head(666))  # a head at SPOT's seqs, posted elsewhere
        with boa.reverts("checkpoints: seq not above the latest"):
            both.post(SPOT, 9, head(666))  # the rewrite itself, on SPOT: refused
    assert stored(both, SPOT) == before
    assert both.checkpoints(SPOT, 1, 5) == before


def test_an_outsider_cannot_post_to_any_shard(both: VyperContract, outsider: str) -> None:
    for shard in (SPOT, PERPS, 7):
        with boa.env.prank(outsider), boa.reverts("checkpoints: caller is not the operator"):
            both.post(shard, 100, head(100))
        with boa.env.prank(outsider), boa.reverts("checkpoints: caller is not the operator"):
            both.post_batch(shard, [(100, head(100))])
    assert (both.count(SPOT), both.count(PERPS), both.count(7)) == (2, 1, 0)


def test_two_shards_receipts_at_one_seq_are_no_equivocation(checkpoints: VyperContract) -> None:
    # an honest operator signs seq 7 of each shard's journal, with each journal's head
    spot = arg(signed(checkpoints, SPOT, 7, head(1)))
    perps = arg(signed(checkpoints, PERPS, 7, head(2)))
    with boa.reverts("checkpoints: receipts for different shards"):
        checkpoints.prove_equivocation(spot, perps)
    assert (checkpoints.faulted(), checkpoints.fault()) == (False, NO_FAULT)


def test_a_receipt_is_compared_with_its_own_shards_checkpoint(both: VyperContract) -> None:
    honest = arg(signed(both, SPOT, 9, head(9)))  # SPOT's true head at seq 9
    with boa.reverts("checkpoints: the receipt matches the checkpoint"):
        both.prove_contradiction(honest, 2)
    # index 1 is PERPS' checkpoint at seq 9 (head 109), but SPOT's is at seq 5: never compared
    with boa.reverts("checkpoints: the checkpoint is at another seq"):
        both.prove_contradiction(honest, 1)
    assert both.faulted() is False


def test_a_lie_on_a_shard_is_proven_and_named(both: VyperContract, outsider: str) -> None:
    lie = arg(signed(both, PERPS, 9, head(9)))  # SPOT's head, signed as PERPS' at seq 9
    with boa.env.prank(outsider):
        assert both.prove_contradiction(lie, 1) is True

    assert fault_events(both) == [(PERPS, 9, head(9), head(109), 1, outsider)]
    assert both.fault() == (PERPS, 9, head(9), head(109), 1, boa.env.evm.patch.timestamp)
    assert both.faulted() is True  # one flag: the Exchange stops for every shard


def test_one_fault_on_record_covers_every_shard(both: VyperContract) -> None:
    both.prove_equivocation(
        arg(signed(both, PERPS, 3, head(1))), arg(signed(both, PERPS, 3, head(2)))
    )
    first = both.fault()
    assert both.prove_contradiction(arg(signed(both, SPOT, 9, head(99))), 2) is False
    assert fault_events(both) == []
    assert both.fault() == first


def test_a_fork_posted_on_another_shard_does_not_escape_the_proof(
    both: VyperContract, operator: str
) -> None:
    # the operator told a trader SPOT's seq 9 is head 99, then posts head 99 at seq 9 of a
    # fresh shard as if the receipt had been about that one: the receipt names SPOT
    lie = signed(both, SPOT, 9, head(99))
    with boa.env.prank(operator):
        assert both.post(3, 9, head(99)) == 1
    assert both.prove_contradiction(arg(lie), 2) is True
    assert both.fault()[:5] == (SPOT, 9, head(99), head(9), 2)


def test_a_receipt_cannot_be_moved_to_another_shard(both: VyperContract) -> None:
    # a prover (or the operator) cannot re-label a receipt's shard: the shard is signed
    honest = arg(signed(both, SPOT, 9, head(9)))
    relabelled = (honest[0], PERPS, *honest[2:])
    with boa.reverts("checkpoints: receipt not signed by the operator"):
        both.prove_contradiction(relabelled, 1)
    assert both.faulted() is False
