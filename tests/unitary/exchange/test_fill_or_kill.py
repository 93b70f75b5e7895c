"""A fill-or-kill order settles whole within one batch or not at all.

Regression of a found hole: an FOK order of 10 lots settled 4 lots; the trader, who
signed "all or nothing", held a third of the position they asked for. The operator is
the attacker here: it chooses which fills of a match go into a batch.
"""

from __future__ import annotations

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from tests.unitary.exchange.venue import (
    BTC,
    USDC,
    Actor,
    Venue,
    actor,
    events,
    match,
    rejection_reasons,
)

from perpdex.core.eip712 import SignedOrder
from perpdex.core.signing import keccak256
from perpdex.core.types import TimeInForce
from perpdex.settlement.encoding import Match

LOT, PRICE = BTC.lot_size, BTC.index_price


@pytest.fixture
def makers(venue: Venue, maker: Actor) -> tuple[Actor, Actor]:
    other = actor("maker_1")
    for who in (maker, other):
        venue.fund(who, 10_000 * USDC)
    return maker, other


@pytest.fixture
def fok(venue: Venue, trader: Actor) -> SignedOrder:
    """The trader's FOK buy of 10 lots."""
    venue.fund(trader, 10_000 * USDC)
    return venue.order(
        trader, is_buy=True, size=10 * LOT, price=PRICE, time_in_force=TimeInForce.FOK
    )


def ask(venue: Venue, who: Actor, lots: int) -> SignedOrder:
    return venue.order(who, is_buy=False, size=lots * LOT, price=PRICE)


def test_fill_or_kill_order_cannot_settle_in_part(
    venue: Venue, makers: tuple[Actor, Actor], trader: Actor, fok: SignedOrder
) -> None:
    logs = venue.settle(match(ask(venue, makers[0], 4), fok))
    assert rejection_reasons(logs) == [venue.exchange.REJECT_FILL_OR_KILL()]
    assert venue.position(trader)[0] == 0
    assert tuple(venue.exchange.order_state(trader.address, fok.order.nonce, fok.order_hash)) == (
        0,
        False,
    )


def test_fill_or_kill_order_cannot_be_split_across_batches(
    venue: Venue, makers: tuple[Actor, Actor], trader: Actor, fok: SignedOrder
) -> None:
    """The two fills of one match, sent in two batches: each is a part, each is refused."""
    first, second = match(ask(venue, makers[0], 4), fok), match(ask(venue, makers[1], 6), fok)
    for part in (first, second):
        logs = venue.settle(part)
        assert rejection_reasons(logs) == [venue.exchange.REJECT_FILL_OR_KILL()]
    assert venue.position(trader)[0] == 0


def test_fill_or_kill_order_settles_whole_across_makers_in_one_batch(
    venue: Venue, makers: tuple[Actor, Actor], trader: Actor, fok: SignedOrder
) -> None:
    logs = venue.settle(match(ask(venue, makers[0], 4), fok), match(ask(venue, makers[1], 6), fok))
    assert rejection_reasons(logs) == []
    assert [filled.size for filled in events(logs, "Filled")] == [4 * LOT, 6 * LOT]
    assert venue.position(trader)[0] == 10 * LOT
    assert tuple(venue.exchange.order_state(trader.address, fok.order.nonce, fok.order_hash)) == (
        0,
        True,
    )


def test_fill_or_kill_left_in_part_by_a_skipped_fill_reverts_the_batch(
    venue: Venue, makers: tuple[Actor, Actor], trader: Actor, fok: SignedOrder
) -> None:
    """The batch names fills that complete the FOK, but the second maker cancelled on chain
    first: its fill is skipped, so the first cannot stand, and the batch reverts naming the
    FOK's trader (the batcher drops their fills and settles the rest)."""
    cancelled = ask(venue, makers[1], 6)
    with boa.env.prank(makers[1].address):
        venue.exchange.cancel_orders([cancelled.order.nonce])
    fills: list[Match] = [match(ask(venue, makers[0], 4), fok), match(cancelled, fok)]
    with pytest.raises(BoaError) as info:
        venue.settle(*fills)
    revert_data = info.value.stack_trace.last_frame.vm_error.args[0]
    selector = keccak256(b"FillOrKillIncomplete(address)")[:4]
    assert revert_data == selector + bytes(12) + bytes.fromhex(trader.address[2:])
    assert venue.position(trader)[0] == 0


def test_fill_or_kill_whose_first_fill_is_skipped_is_not_left_open(
    venue: Venue, makers: tuple[Actor, Actor], trader: Actor, fok: SignedOrder
) -> None:
    """The first fill of the group is a self-trade (skipped before it counts): the rest
    cannot complete the order, so it is refused too, and the batch settles."""
    own_ask = venue.order(trader, is_buy=False, size=4 * LOT, price=PRICE)
    logs = venue.settle(match(own_ask, fok), match(ask(venue, makers[1], 6), fok))
    exchange = venue.exchange
    assert rejection_reasons(logs) == [exchange.REJECT_SELF_TRADE(), exchange.REJECT_FILL_OR_KILL()]
    assert venue.position(trader)[0] == 0
