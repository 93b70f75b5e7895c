"""Once the operator's fault is proven in Checkpoints, ``settle`` refuses every batch;
traders can still cancel their orders and withdraw their collateral."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import BTC, USDC, Actor, Venue, events, match

from perpdex.core.eip712 import ChainHeadHash, JournalSeq, Receipt, UnixMillis
from perpdex.core.signing import keccak256
from perpdex.core.types import EMBEDDED_SHARD, Address, OrderHash
from perpdex.receipts import receipt_domain, sign_receipt

LOT = BTC.lot_size


def prove_equivocation(venue: Venue, prover: Actor) -> None:
    """Two receipts the keeper (the Checkpoints operator) signed for seq 3, heads differ."""
    domain = receipt_domain(boa.env.evm.patch.chain_id, Address(venue.checkpoints.address))
    receipts = []
    for n in (1, 2):
        receipt = Receipt(
            OrderHash(keccak256(b"order %d" % n)),
            EMBEDDED_SHARD,
            JournalSeq(3),
            ChainHeadHash(keccak256(b"head %d" % n)),
            UnixMillis(1_700_000_000_000),
        )
        receipts.append(sign_receipt(receipt, venue.keeper.key, domain).contract_arg())
    with boa.env.prank(prover.address):
        venue.checkpoints.prove_equivocation(*receipts)
    assert venue.checkpoints.faulted()


@pytest.fixture
def faulted(venue: Venue, maker: Actor, trader: Actor, outsider: Actor) -> Venue:
    venue.fund(maker, 10_000 * USDC)
    venue.fund(trader, 10_000 * USDC)
    venue.open_long(trader, maker, 10 * LOT)  # settles while nothing is proven
    prove_equivocation(venue, outsider)
    return venue


def test_checkpoints_address_is_public(venue: Venue) -> None:
    assert venue.exchange.CHECKPOINTS() == venue.checkpoints.address


def test_settle_refuses_batches_after_a_fault(faulted: Venue, maker: Actor, trader: Actor) -> None:
    before = faulted.position(trader)
    ask = faulted.order(maker, is_buy=False, size=LOT, price=BTC.index_price)
    bid = faulted.order(trader, is_buy=True, size=LOT, price=BTC.index_price)
    with boa.reverts("exchange: operator fault proven"):
        faulted.settle(match(ask, bid))
    assert faulted.position(trader) == before


def test_an_empty_batch_is_refused_too(faulted: Venue) -> None:
    with boa.reverts("exchange: operator fault proven"):
        faulted.settle_packed([], [])


def test_traders_still_cancel_and_withdraw(faulted: Venue, trader: Actor) -> None:
    with boa.env.prank(trader.address):
        faulted.exchange.cancel_orders([7])
        assert [log.nonce for log in events(faulted.logs(), "OrderCancelled")] == [7]
        faulted.exchange.raise_nonce_floor(2**40)
        faulted.exchange.request_withdrawal(1_000 * USDC)
    boa.env.time_travel(seconds=faulted.exchange.withdrawal_delay())
    with boa.env.prank(trader.address):
        faulted.exchange.execute_withdrawal()
    assert [log.amount for log in events(faulted.logs(), "Withdrawn")] == [1_000 * USDC]
    assert faulted.usdc.balanceOf(trader.address) == 1_000 * USDC
