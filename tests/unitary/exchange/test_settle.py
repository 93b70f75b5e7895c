"""``settle``: a batch of matched fills moves positions only as both orders signed."""

from __future__ import annotations

import boa
import pytest
from tests.unitary.exchange.venue import (
    BTC,
    ETH,
    USDC,
    Actor,
    Venue,
    events,
    match,
    rejection_reasons,
)

from perpdex.settlement.encoding import pack_fill, pack_order

PRICE = BTC.index_price
LOT = BTC.lot_size
TICK = BTC.tick_size


@pytest.fixture
def funded(venue: Venue, maker: Actor, trader: Actor) -> Venue:
    venue.fund(maker, 10_000 * USDC)
    venue.fund(trader, 10_000 * USDC)
    return venue


def notional(venue: Venue, size: int, price: int) -> int:
    return size * price // venue.exchange.SIZE_SCALE()


def fee(venue: Venue, amount: int, ppm: int) -> int:
    return -(-amount * ppm // venue.exchange.FRACTION_SCALE())


def test_fill_opens_opposite_positions(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=1_000 * LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=1_000 * LOT, price=PRICE)
    logs = funded.settle(match(ask, bid))
    value = notional(funded, 1_000 * LOT, PRICE)
    maker_fee, taker_fee = (
        fee(funded, value, BTC.maker_fee_ppm),
        fee(funded, value, BTC.taker_fee_ppm),
    )
    assert funded.position(maker) == (-1_000 * LOT, value - maker_fee, False, 0)
    assert funded.position(trader) == (1_000 * LOT, -value - taker_fee, False, 0)
    assert funded.exchange.fee_pool() == maker_fee + taker_fee
    (filled,) = events(logs, "Filled")
    assert (filled.maker, filled.taker, filled.market) == (maker.address, trader.address, 0)
    assert (filled.maker_hash, filled.taker_hash) == (ask.order_hash, bid.order_hash)
    assert (filled.price, filled.size, filled.maker_fee, filled.taker_fee) == (
        PRICE,
        1_000 * LOT,
        maker_fee,
        taker_fee,
    )


def test_fill_at_better_price_than_taker_limit(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=10 * LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=10 * LOT, price=PRICE + 50 * TICK)
    funded.settle(match(ask, bid))
    assert funded.position(trader)[0] == 10 * LOT


def test_partial_fills_accumulate_up_to_signed_size(
    funded: Venue, maker: Actor, trader: Actor
) -> None:
    ask = funded.order(maker, is_buy=False, size=10 * LOT, price=PRICE)
    bids = [funded.order(trader, is_buy=True, size=4 * LOT, price=PRICE) for _ in range(3)]
    logs = funded.settle(*(match(ask, bid, size=4 * LOT) for bid in bids))
    # the third fill would take 12 lots of a 10-lot order
    assert rejection_reasons(logs) == [funded.exchange.REJECT_OVERFILL()]
    assert funded.position(maker)[0] == -8 * LOT
    assert tuple(funded.exchange.order_state(maker.address, ask.order.nonce, ask.order_hash)) == (
        8 * LOT,
        False,
    )
    last = funded.order(trader, is_buy=True, size=2 * LOT, price=PRICE)
    logs = funded.settle(match(ask, last))
    assert tuple(funded.exchange.order_state(maker.address, ask.order.nonce, ask.order_hash)) == (
        0,
        True,
    )


def test_one_order_verified_once_for_many_fills(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=3 * LOT, price=PRICE)
    bids = [funded.order(trader, is_buy=True, size=LOT, price=PRICE) for _ in range(3)]
    matches = [match(ask, bid, size=LOT) for bid in bids]
    orders = [pack_order(ask)] + [pack_order(bid) for bid in bids]
    fills = [pack_fill(0, i + 1, PRICE, LOT) for i in range(3)]
    logs = funded.settle_packed(orders, fills)
    assert len(events(logs, "Filled")) == len(matches)
    assert funded.position(maker)[0] == -3 * LOT


def test_fill_at_worse_price_than_signed_is_rejected(
    funded: Venue, maker: Actor, trader: Actor
) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    logs = funded.settle(match(ask, bid, price=PRICE + TICK), match(ask, bid, price=PRICE - TICK))
    reason = funded.exchange.REJECT_PRICE_LIMIT()
    assert rejection_reasons(logs) == [reason, reason]
    assert funded.position(trader) == (0, 0, False, 0)


def test_forged_signature_is_rejected(
    funded: Venue, maker: Actor, trader: Actor, outsider: Actor
) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    forged = funded.order(outsider, is_buy=True, size=LOT, price=PRICE)
    head, body, r, s = pack_order(forged)
    # claim the order is the trader's while the outsider signed it
    trader_word = int(trader.address, 16)
    head = (head >> 160 << 160) | trader_word
    logs = funded.settle_packed(
        [pack_order(ask), (head, body, r, s)], [pack_fill(0, 1, PRICE, LOT)]
    )
    assert rejection_reasons(logs) == [funded.exchange.REJECT_BAD_SIGNATURE()]
    assert funded.position(trader) == (0, 0, False, 0)


def test_signature_reused_on_other_terms_is_rejected(
    funded: Venue, maker: Actor, trader: Actor
) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    head, body, r, s = pack_order(bid)
    bigger = (body >> 64 << 64) | (100 * LOT)  # the trader's signature on a larger size
    logs = funded.settle_packed(
        [pack_order(ask), (head, bigger, r, s)], [pack_fill(0, 1, PRICE, LOT)]
    )
    assert rejection_reasons(logs) == [funded.exchange.REJECT_BAD_SIGNATURE()]


# secp256k1: y^2 = x^3 + 7 over the field of P; an x whose right side is not a square
# has no point, so ecrecover of an r equal to it fails
P = 2**256 - 2**32 - 977
R_OFF_CURVE = next(x for x in range(1, 100) if pow(x**3 + 7, (P - 1) // 2, P) != 1)


@pytest.mark.parametrize("mutate", ["high_s", "bad_v", "zero_r", "r_off_curve", "zero_trader"])
def test_malformed_signature_is_rejected_not_reverted(
    funded: Venue, maker: Actor, trader: Actor, mutate: str
) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    head, body, r, s = pack_order(bid)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    if mutate == "high_s":  # the malleable twin of a valid signature
        s, head = n - s, head ^ (1 << 248)
    elif mutate == "bad_v":
        head = (head & ((1 << 248) - 1)) | (29 << 248)
    elif mutate == "zero_r":
        r = 0
    else:  # recovery fails: no signer, also not the zero address an order may name
        r = R_OFF_CURVE
        if mutate == "zero_trader":
            head = head >> 160 << 160
    logs = funded.settle_packed(
        [pack_order(ask), (head, body, r, s)], [pack_fill(0, 1, PRICE, LOT)]
    )
    assert rejection_reasons(logs) == [funded.exchange.REJECT_BAD_SIGNATURE()]


def test_replayed_fill_of_completed_order_is_rejected(
    funded: Venue, maker: Actor, trader: Actor
) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    logs = funded.settle(match(ask, bid))
    logs = funded.settle(match(ask, bid))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_ORDER_CLOSED()]
    assert funded.position(trader)[0] == LOT


def test_expired_order_is_rejected(funded: Venue, maker: Actor, trader: Actor) -> None:
    now = boa.env.evm.patch.timestamp
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE, expiry=now + 10)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    boa.env.time_travel(seconds=10)
    logs = funded.settle(match(ask, bid))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_EXPIRED()]


def test_cancelled_order_is_rejected(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    with boa.env.prank(maker.address):
        funded.exchange.cancel_orders([ask.order.nonce])
    logs = funded.settle(match(ask, bid))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_ORDER_CLOSED()]


def test_order_below_nonce_floor_is_rejected(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    with boa.env.prank(maker.address):
        funded.exchange.raise_nonce_floor(ask.order.nonce + 1)
    logs = funded.settle(match(ask, bid))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_ORDER_CLOSED()]


def test_wrong_market_or_same_side_is_rejected(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    eth_bid = funded.order(trader, is_buy=True, size=ETH.lot_size, price=PRICE, market=1)
    other_ask = funded.order(trader, is_buy=False, size=LOT, price=PRICE)
    logs = funded.settle(match(ask, eth_bid, size=LOT), match(ask, other_ask))
    exchange = funded.exchange
    assert rejection_reasons(logs) == [exchange.REJECT_MARKET(), exchange.REJECT_SAME_SIDE()]


def test_unlisted_market_is_rejected(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE, market=7)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE, market=7)
    logs = funded.settle(match(ask, bid))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_MARKET()]


def test_off_grid_fill_is_rejected(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=10 * LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=10 * LOT, price=PRICE + TICK)
    logs = funded.settle(
        match(ask, bid, size=LOT + 1), match(ask, bid, price=PRICE + 1), match(ask, bid, size=0)
    )
    reason = funded.exchange.REJECT_OFF_GRID()
    assert rejection_reasons(logs) == [reason, reason, reason]


def test_fee_above_signed_maximum_is_rejected(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(
        trader, is_buy=True, size=LOT, price=PRICE, max_fee_ppm=BTC.taker_fee_ppm - 1
    )
    logs = funded.settle(match(ask, bid))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_FEE_ABOVE_MAX()]


def test_time_in_force_roles_are_enforced(funded: Venue, maker: Actor, trader: Actor) -> None:
    from perpdex.core.types import TimeInForce

    post_only_taker = funded.order(
        trader, is_buy=True, size=LOT, price=PRICE, time_in_force=TimeInForce.POST_ONLY
    )
    ioc_maker = funded.order(
        maker, is_buy=False, size=LOT, price=PRICE, time_in_force=TimeInForce.IOC
    )
    gtc_maker = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    gtc_taker = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    logs = funded.settle(match(gtc_maker, post_only_taker), match(ioc_maker, gtc_taker))
    reason = funded.exchange.REJECT_TIME_IN_FORCE()
    assert rejection_reasons(logs) == [reason, reason]


def test_reduce_only_cannot_open_or_flip(funded: Venue, maker: Actor, trader: Actor) -> None:
    opening = funded.order(trader, is_buy=True, size=LOT, price=PRICE, reduce_only=True)
    ask = funded.order(maker, is_buy=False, size=10 * LOT, price=PRICE)
    logs = funded.settle(match(ask, opening))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_REDUCE_ONLY()]
    logs = funded.settle(match(ask, funded.order(trader, is_buy=True, size=2 * LOT, price=PRICE)))
    bid = funded.order(maker, is_buy=True, size=10 * LOT, price=PRICE)
    flip = funded.order(trader, is_buy=False, size=3 * LOT, price=PRICE, reduce_only=True)
    reduce = funded.order(trader, is_buy=False, size=2 * LOT, price=PRICE, reduce_only=True)
    logs = funded.settle(match(bid, flip), match(bid, reduce))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_REDUCE_ONLY()]
    assert funded.position(trader)[0] == 0


def test_bad_index_is_rejected(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    logs = funded.settle_packed(
        [pack_order(ask)], [pack_fill(0, 0, PRICE, LOT), pack_fill(0, 5, PRICE, LOT)]
    )
    reason = funded.exchange.REJECT_BAD_INDEX()
    assert rejection_reasons(logs) == [reason, reason]


def test_bad_fill_does_not_block_the_rest_of_the_batch(
    funded: Venue, maker: Actor, trader: Actor
) -> None:
    asks = [funded.order(maker, is_buy=False, size=LOT, price=PRICE) for _ in range(3)]
    bids = [funded.order(trader, is_buy=True, size=LOT, price=PRICE) for _ in range(3)]
    logs = funded.settle(
        match(asks[0], bids[0]),
        match(asks[1], bids[1], price=PRICE + TICK),
        match(asks[2], bids[2]),
    )
    assert [log.index for log in events(logs, "FillRejected")] == [1]
    assert funded.position(trader)[0] == 2 * LOT


def test_only_operator_settles(funded: Venue, maker: Actor, trader: Actor) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    with boa.env.prank(trader.address), boa.reverts("exchange: caller is not the operator"):
        funded.exchange.settle(
            [pack_order(ask), pack_order(bid)], [pack_fill(0, 1, PRICE, LOT)], []
        )


def test_operator_cannot_trade_for_account_without_signed_order(
    funded: Venue, maker: Actor, trader: Actor
) -> None:
    ask = funded.order(maker, is_buy=False, size=LOT, price=PRICE)
    operator_bid = funded.order(funded.operator, is_buy=True, size=LOT, price=PRICE)
    head, body, r, s = pack_order(operator_bid)
    # the operator signs an order in the trader's name
    head = (head >> 160 << 160) | int(trader.address, 16)
    logs = funded.settle_packed(
        [pack_order(ask), (head, body, r, s)], [pack_fill(0, 1, PRICE, LOT)]
    )
    assert rejection_reasons(logs) == [funded.exchange.REJECT_BAD_SIGNATURE()]
    assert funded.position(trader) == (0, 0, False, 0)


def test_self_trade_is_rejected(funded: Venue, trader: Actor) -> None:
    ask = funded.order(trader, is_buy=False, size=LOT, price=PRICE)
    bid = funded.order(trader, is_buy=True, size=LOT, price=PRICE)
    logs = funded.settle(match(ask, bid))
    assert rejection_reasons(logs) == [funded.exchange.REJECT_SELF_TRADE()]
    assert funded.position(trader) == (0, 0, False, 0)
