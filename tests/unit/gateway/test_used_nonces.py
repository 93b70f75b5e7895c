"""The gateway's replay memory: every accepted nonce, held as runs of consecutive nonces."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from perpdex.core.signing import SigningKey
from perpdex.core.types import Address
from perpdex.gateway.nonces import UsedNonces

TRADER = SigningKey(bytes(31) + b"\x07").address
OTHER = SigningKey(bytes(31) + b"\x08").address


def test_a_trader_placing_orders_in_nonce_order_costs_one_run_however_many() -> None:
    nonces = UsedNonces()
    for nonce in range(10_000):
        nonces.add(TRADER, nonce)

    assert nonces.runs(TRADER) == 1
    assert (TRADER, 0) in nonces and (TRADER, 9_999) in nonces
    assert (TRADER, 10_000) not in nonces and (OTHER, 0) not in nonces


def test_interleaved_leases_merge_when_their_gap_fills() -> None:
    nonces = UsedNonces()
    for nonce in [*range(0, 5), *range(100, 105), *range(5, 100)]:
        nonces.add(TRADER, nonce)
        assert (TRADER, nonce) in nonces

    assert nonces.runs(TRADER) == 1
    assert all((TRADER, nonce) in nonces for nonce in range(105))


def test_a_refused_order_frees_only_its_own_nonce() -> None:
    nonces = UsedNonces()
    for nonce in range(10):
        nonces.add(TRADER, nonce)

    nonces.remove(TRADER, 4)
    nonces.remove(TRADER, 0)
    nonces.remove(TRADER, 9)
    nonces.remove(TRADER, 42)  # never used: nothing changes

    assert [n for n in range(12) if (TRADER, n) in nonces] == [1, 2, 3, 5, 6, 7, 8]
    assert nonces.runs(TRADER) == 2
    for nonce in range(10):
        nonces.remove(TRADER, nonce)
    assert nonces.runs(TRADER) == 0


@given(
    st.lists(
        st.tuples(st.booleans(), st.sampled_from([TRADER, OTHER]), st.integers(0, 40)),
        max_size=200,
    )
)
def test_runs_answer_exactly_as_a_set_of_every_nonce_would(
    steps: list[tuple[bool, Address, int]],
) -> None:
    used, reference = UsedNonces(), set[tuple[Address, int]]()
    for adds, trader, nonce in steps:
        if adds:
            used.add(trader, nonce)
            reference.add((trader, nonce))
        else:
            used.remove(trader, nonce)
            reference.discard((trader, nonce))
    for trader in (TRADER, OTHER):
        held = {n for t, n in reference if t == trader}
        assert {n for n in range(42) if (trader, n) in used} == held
        # one run per maximal stretch of consecutive nonces: adjacent runs were joined
        assert used.runs(trader) == sum(1 for n in held if n - 1 not in held)
