"""An honest operator cannot be framed: whatever its honest receipts and checkpoints,
no pair of them, in any order, ever proves a fault.

The operator keeps a real hash-chained journal of random entries, posts some of its heads
as checkpoints and signs a receipt for some of its entries (the true head at each seq, one
per order, as the gateway does). An attacker then submits every proof it can build from
them: pairs of receipts (the same one twice included) and receipts against checkpoints
(right and wrong indices). Every proof reverts and the fault record stays empty.
"""

from __future__ import annotations

import boa
from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unitary.checkpoints.log import CHECKPOINTS
from tests.unitary.checkpoints.receipts import NO_FAULT, OPERATOR_KEY, arg, signed

from perpdex.engine.hashchain import HashChain
from perpdex.receipts import SignedReceipt

journals = st.lists(st.binary(min_size=9, max_size=40), min_size=1, max_size=24)


def every_proof(
    checkpoints: VyperContract, receipts: list[SignedReceipt], count: int
) -> list[tuple[str, tuple[object, ...]]]:
    pairs = [("prove_equivocation", (arg(a), arg(b))) for a in receipts for b in receipts]
    against = [
        ("prove_contradiction", (arg(r), index))
        for r in receipts
        for index in range(count + 2)  # the genesis and one past the last too
    ]
    return pairs + against


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=journals,
    data=st.data(),
)
def test_honest_receipts_and_checkpoints_never_prove_a_fault(
    entries: list[bytes], data: st.DataObject
) -> None:
    heads = HashChain().extend(entries)  # heads[seq - 1] is the head after entry seq
    seqs = range(1, len(heads) + 1)
    posted = data.draw(st.lists(st.sampled_from(seqs), unique=True, max_size=4).map(sorted))
    acked = data.draw(st.lists(st.sampled_from(seqs), unique=True, min_size=1, max_size=4))
    with boa.env.anchor():
        checkpoints = CHECKPOINTS.deploy(OPERATOR_KEY.address)
        with boa.env.prank(OPERATOR_KEY.address):
            for seq in posted:
                checkpoints.post(seq, heads[seq - 1])
        receipts = [signed(checkpoints, seq, heads[seq - 1], order=seq) for seq in acked]
        for function, args in every_proof(checkpoints, receipts, len(posted)):
            # titanoboa describes a reverting contract by its storage, decoding each map key
            # it finds in its trace of keccak inputs; a chain head that is itself a traced
            # keccak output makes it decode one level too deep (AttributeError). Without the
            # trace it describes the contract without the maps; the revert is checked alike.
            boa.env.sha3_trace.clear()
            with boa.reverts():
                getattr(checkpoints, function)(*args)
        assert checkpoints.faulted() is False
        assert checkpoints.fault() == NO_FAULT
