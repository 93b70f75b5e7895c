"""Every reason a fill can be refused names the order(s) the node ends: the one at fault,
never the innocent counterparty (who a trader could otherwise pull off the book for free),
and both only where no single order failed."""

from __future__ import annotations

import pytest
from tests.unit.settlement.test_batcher_payload import MAKER, STOP, TAKER, signed

from perpdex.core.eip712 import FeePpm, Nonce, SignedOrder, UnixTime
from perpdex.core.types import Address, Price, Size
from perpdex.settlement.encoding import Match
from perpdex.settlement.fault import FAULTS, ChainView, Fault, at_fault
from perpdex.settlement.outcomes import Rejected, RejectReason

# plain terms: neither side reduce-only, same expiry, caps above the fees below
ASK = signed(MAKER, is_buy=False, reduce_only=False)
BID = signed(TAKER, is_buy=True, reduce_only=False)
OPEN = ChainView(nonce_closed=lambda trader, nonce: False, fees_ppm=(100, 200))


def blamed(
    reason: RejectReason,
    maker: SignedOrder = ASK,
    taker: SignedOrder = BID,
    chain: ChainView = OPEN,
    account: Address | None = None,
) -> set[str]:
    match = Match(maker=maker, taker=taker, price=Price(10**11), size=Size(5))
    sides = at_fault(Rejected(match, reason, account=account), chain)
    return {"maker" if side is maker else "taker" for side in sides}


def test_every_reason_has_a_fault() -> None:
    """A new reason (the contract's ``REJECT_*`` are all in RejectReason: a contract test
    checks) without a rule fails here, not as a KeyError in the node."""
    assert set(FAULTS) == set(RejectReason)
    for reason in RejectReason:
        assert blamed(reason)  # every reason ends at least one order


@pytest.mark.parametrize("reason", [r for r in RejectReason if FAULTS[r] is Fault.BOTH])
def test_a_reason_naming_no_order_ends_both(reason: RejectReason) -> None:
    assert blamed(reason) == {"maker", "taker"}


@pytest.mark.parametrize("is_maker", [True, False])
def test_an_untriggered_fill_ends_only_the_trigger_order(is_maker: bool) -> None:
    """The attack: a stop whose oracle crosses back before the batch lands would have
    pulled the market maker's whole rest."""
    stop = signed(MAKER if is_maker else TAKER, is_buy=not is_maker, reduce_only=False, **STOP)
    maker, taker = (stop, BID) if is_maker else (ASK, stop)
    got = blamed(RejectReason.TRIGGER_NOT_REACHED, maker, taker)
    assert got == {"maker" if is_maker else "taker"}


def test_a_failed_margin_check_ends_the_named_traders_order() -> None:
    reason = RejectReason.MARGIN_CHECK_FAILED
    assert blamed(reason, account=BID.order.trader) == {"taker"}
    assert blamed(reason, account=ASK.order.trader) == {"maker"}
    assert blamed(reason) == {"maker", "taker"}  # no account named


def test_a_closed_nonce_ends_the_order_whose_nonce_closed() -> None:
    closed = ChainView(lambda trader, nonce: trader == BID.order.trader, OPEN.fees_ppm)
    assert blamed(RejectReason.ORDER_CLOSED, chain=closed) == {"taker"}
    # the node's view lags the chain: it cannot tell, so both (the old rule)
    assert blamed(RejectReason.ORDER_CLOSED) == {"maker", "taker"}


def test_an_expired_fill_ends_the_order_expiring_first() -> None:
    soon = signed(MAKER, is_buy=False, reduce_only=False, expiry=UnixTime(2**39))
    assert blamed(RejectReason.EXPIRED, maker=soon) == {"maker"}
    assert blamed(RejectReason.EXPIRED) == {"maker", "taker"}  # same expiry


def test_a_fee_above_the_cap_ends_the_order_whose_cap_is_below_its_role_fee() -> None:
    cheap = signed(TAKER, is_buy=True, reduce_only=False, max_fee_ppm=FeePpm(150))
    assert blamed(RejectReason.FEE_ABOVE_MAX, taker=cheap) == {"taker"}  # taker fee 200
    assert blamed(RejectReason.FEE_ABOVE_MAX) == {"maker", "taker"}


def test_reduce_only_and_fill_or_kill_end_the_order_with_that_term() -> None:
    reducing = signed(TAKER, is_buy=True, reduce_only=True)
    assert blamed(RejectReason.REDUCE_ONLY, taker=reducing) == {"taker"}
    assert blamed(RejectReason.FILL_OR_KILL) == {"taker"}


def test_a_self_trade_is_one_order_pair_ended_whole() -> None:
    own = signed(MAKER, is_buy=True, reduce_only=False, nonce=Nonce(7))
    reason = RejectReason.MARGIN_CHECK_FAILED
    assert blamed(reason, taker=own, account=ASK.order.trader) == {"maker", "taker"}
