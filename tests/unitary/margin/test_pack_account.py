"""``packing._pack_account``: one word per trader, reverting on an out-of-range field."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import REVERTED, outcome, signed, unsigned

from perpdex.core import margin


@given(collateral=signed(128), nonce_floor=unsigned(64), cross_markets=unsigned(64))
@example(collateral=-1, nonce_floor=2**64 - 1, cross_markets=2**64 - 1)
def test_pack_account_matches_model(
    harness: VyperContract, collateral: int, nonce_floor: int, cross_markets: int
) -> None:
    word = margin.pack_account(collateral, nonce_floor, cross_markets)
    assert harness.pack_account(collateral, nonce_floor, cross_markets) == word
    assert margin.unpack_account(word) == (collateral, nonce_floor, cross_markets)


@given(collateral=signed(130), nonce_floor=unsigned(66), cross_markets=unsigned(66))
@example(collateral=2**127, nonce_floor=0, cross_markets=0)
@example(collateral=-(2**127) - 1, nonce_floor=0, cross_markets=0)
@example(collateral=0, nonce_floor=2**64, cross_markets=0)
@example(collateral=0, nonce_floor=0, cross_markets=2**64)
def test_pack_account_reverts_like_model(
    harness: VyperContract, collateral: int, nonce_floor: int, cross_markets: int
) -> None:
    args = (collateral, nonce_floor, cross_markets)
    expected = outcome(margin.pack_account, *args)
    assert outcome(harness.pack_account, *args) == expected


def test_pack_account_reverts_above_int128(harness: VyperContract) -> None:
    assert outcome(harness.pack_account, 2**127, 0, 0) == REVERTED
