"""An honest operator cannot be framed: whatever its honest receipts and checkpoints,
no pair of them, in any order, ever proves a fault.

The operator runs two engine shards, each with a real hash-chained journal of random
entries (so both have a seq 1, 2, ... with different heads), posts some of each journal's
heads as checkpoints of its shard and signs a receipt for some of its entries (the true
head at each seq, one per order, as the gateway does). An attacker then submits every proof
it can build from them: pairs of receipts (the same one twice, and two of different shards
at one seq, included) and receipts against checkpoints (right and wrong indices). Every
proof reverts and the fault record stays empty.
"""

from __future__ import annotations

import boa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unitary.checkpoints.log import CHECKPOINTS
from tests.unitary.checkpoints.receipts import NO_FAULT, OPERATOR_KEY, arg, signed

from perpdex.engine.hashchain import HashChain
from perpdex.receipts import SignedReceipt

journals = st.lists(st.binary(min_size=9, max_size=40), min_size=1, max_size=24)


SHARDS = (0, 1)


def every_proof(receipts: list[SignedReceipt], most: int) -> list[tuple[str, tuple[object, ...]]]:
    pairs = [("prove_equivocation", (arg(a), arg(b))) for a in receipts for b in receipts]
    against = [
        ("prove_contradiction", (arg(r), index))
        for r in receipts
        for index in range(most + 2)  # the genesis and one past the last too
    ]
    return pairs + against


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    journals=st.tuples(journals, journals),
    data=st.data(),
)
def test_honest_receipts_and_checkpoints_never_prove_a_fault(
    journals: tuple[list[bytes], list[bytes]], data: st.DataObject
) -> None:
    with boa.env.anchor():
        checkpoints = CHECKPOINTS.deploy(OPERATOR_KEY.address)
        receipts: list[SignedReceipt] = []
        most = 0
        for shard, entries in zip(SHARDS, journals, strict=True):
            heads = HashChain().extend(entries)  # heads[seq - 1]: the head after entry seq
            seqs = range(1, len(heads) + 1)
            posted = data.draw(st.lists(st.sampled_from(seqs), unique=True, max_size=4).map(sorted))
            acked = data.draw(st.lists(st.sampled_from(seqs), unique=True, min_size=1, max_size=3))
            with boa.env.prank(OPERATOR_KEY.address):
                for seq in posted:
                    checkpoints.post(shard, seq, heads[seq - 1])
            receipts += (signed(checkpoints, shard, s, heads[s - 1], order=s) for s in acked)
            most = max(most, len(posted))
        for function, args in every_proof(receipts, most):
            # titanoboa describes a reverting contract by its storage, decoding each map key
            # it finds in its trace of keccak inputs; a chain head that is itself a traced
            # keccak output makes it decode one level too deep (AttributeError). Without the
            # trace it describes the contract without the maps; the revert is checked alike.
            boa.env.sha3_trace.clear()
            with boa.reverts():
                getattr(checkpoints, function)(*args)
        assert checkpoints.faulted() is False
        assert checkpoints.fault() == NO_FAULT
