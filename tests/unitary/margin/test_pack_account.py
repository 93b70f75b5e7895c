"""``packing._pack_account``: one word per trader, reverting on an out-of-range field."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import example, given
from tests.unitary.margin.harness import REVERTED, outcome, signed, unsigned

from perpdex.core import margin


@given(
    collateral=signed(120), flags=unsigned(8), nonce_floor=unsigned(64), cross_markets=unsigned(64)
)
@example(collateral=-1, flags=255, nonce_floor=2**64 - 1, cross_markets=2**64 - 1)
def test_pack_account_matches_model(
    harness: VyperContract, collateral: int, flags: int, nonce_floor: int, cross_markets: int
) -> None:
    word = margin.pack_account(collateral, flags, nonce_floor, cross_markets)
    assert harness.pack_account(collateral, flags, nonce_floor, cross_markets) == word
    assert margin.unpack_account(word) == (collateral, flags, nonce_floor, cross_markets)


@given(
    collateral=signed(122), flags=unsigned(10), nonce_floor=unsigned(66), cross_markets=unsigned(66)
)
@example(collateral=2**119, flags=0, nonce_floor=0, cross_markets=0)
@example(collateral=-(2**119) - 1, flags=0, nonce_floor=0, cross_markets=0)
@example(collateral=0, flags=256, nonce_floor=0, cross_markets=0)
@example(collateral=0, flags=0, nonce_floor=2**64, cross_markets=0)
@example(collateral=0, flags=0, nonce_floor=0, cross_markets=2**64)
def test_pack_account_reverts_like_model(
    harness: VyperContract, collateral: int, flags: int, nonce_floor: int, cross_markets: int
) -> None:
    args = (collateral, flags, nonce_floor, cross_markets)
    expected = outcome(margin.pack_account, *args)
    assert outcome(harness.pack_account, *args) == expected


def test_pack_account_reverts_above_its_collateral_width(harness: VyperContract) -> None:
    assert outcome(harness.pack_account, 2**119, 0, 0, 0) == REVERTED
