"""The replay's fills against the chain's outcomes, both ways, with made-up outcomes: each
fill ends settled, rejected on chain, dropped (as the journal reports) or pending; what the
chain holds that the journal did not match, or settles out of match order, is named."""

from __future__ import annotations

from tests.unit.audit.audit_testing import DOMAIN, key, signed_order

from perpdex.audit.findings import Check
from perpdex.audit.names import OrderNames
from perpdex.audit.onchain import ChainOutcome
from perpdex.audit.replay import MatchedFill, ReportedDrop
from perpdex.audit.settlement import compare
from perpdex.core.types import OrderHash, Price, Side, Size
from perpdex.engine.commands import NewOrder, RejectedFill

NAMES = OrderNames(DOMAIN)
MAKERS = [signed_order(key(f"maker {n}"), n, buy=False, price=100) for n in range(1, 5)]
TAKER = signed_order(key("taker"), 9, buy=True, price=100, size=4)


def _fill(seq: int, maker: NewOrder, size: int = 1) -> MatchedFill:
    return MatchedFill(
        seq, 0, TAKER.order_id, maker.order_id, 100, size, TAKER.payload, maker.payload
    )


def _hash(order: NewOrder) -> str:
    found = NAMES.hash_of(order.payload)
    assert found is not None
    return found


def _outcome(
    n: int, maker: NewOrder, *, size: int | None = 1, reason: str | None = None
) -> ChainOutcome:
    price = None if reason else 100
    return ChainOutcome(n, 0, f"0x{n:064x}", _hash(maker), _hash(TAKER), price, size, reason)


def _drop(seq: int, maker: NewOrder, cause: str) -> ReportedDrop:
    rejected = RejectedFill(
        market=maker.market,
        price=Price(100),
        size=Size(1),
        taker_side=Side.BUY,
        maker_account=maker.account,
        taker_account=TAKER.account,
        maker_hash=OrderHash(bytes.fromhex(_hash(maker)[2:])),
        taker_hash=OrderHash(bytes.fromhex(_hash(TAKER)[2:])),
        cause=cause,
    )
    return ReportedDrop(seq, rejected)


FILLS = [_fill(5, maker) for maker in MAKERS]


def test_each_fill_ends_settled_rejected_dropped_or_pending() -> None:
    outcomes = [_outcome(1, MAKERS[0]), _outcome(2, MAKERS[1], reason="ORDER_CLOSED")]
    drops = [_drop(6, MAKERS[1], "ORDER_CLOSED"), _drop(7, MAKERS[2], "MARGIN_CHECK_FAILED")]

    tally = compare(FILLS, drops, outcomes, NAMES)

    assert tally.found == []
    assert (tally.settled, tally.rejected, tally.dropped, tally.pending) == (1, 1, 1, 1)
    assert tally.reasons == {"ORDER_CLOSED (chain)": 1, "MARGIN_CHECK_FAILED (dropped)": 1}


def test_a_settled_fill_the_journal_never_matched() -> None:
    stranger = signed_order(key("stranger"), 20, buy=False, price=100)
    (found,) = compare(FILLS, [], [_outcome(1, stranger)], NAMES).found
    assert found.check is Check.SETTLEMENT and found.seq is None
    assert found.order_hash == _hash(TAKER) and "never matched" in found.detail


def test_a_fill_settled_for_another_size() -> None:
    (found,) = compare(FILLS, [], [_outcome(1, MAKERS[0], size=2)], NAMES).found
    assert found.seq == 5 and "settled 2 at 100" in found.detail and "for 1 at 100" in found.detail


def test_fills_settled_out_of_match_order() -> None:
    outcomes = [_outcome(1, MAKERS[1]), _outcome(2, MAKERS[0])]
    (found,) = compare(FILLS, [], outcomes, NAMES).found
    assert "out of match order" in found.detail


def test_a_refusal_sent_for_a_fill_never_matched() -> None:
    stranger = signed_order(key("stranger"), 20, buy=False, price=100)
    (found,) = compare(FILLS, [], [_outcome(1, stranger, reason="EXPIRED")], NAMES).found
    assert found.seq is None and "never matched" in found.detail and "EXPIRED" in found.detail


def test_the_journal_reporting_a_settled_fill_as_refused() -> None:
    (found,) = compare(
        FILLS, [_drop(6, MAKERS[0], "EXPIRED")], [_outcome(1, MAKERS[0])], NAMES
    ).found
    assert (
        found.seq == 6
        and "refused (EXPIRED)" in found.detail
        and "settled on chain" in found.detail
    )


def test_the_journal_giving_another_reason_than_the_chain() -> None:
    outcomes = [_outcome(1, MAKERS[0], reason="ORDER_CLOSED")]
    (found,) = compare(FILLS, [_drop(6, MAKERS[0], "EXPIRED")], outcomes, NAMES).found
    assert found.seq == 6 and "refused for EXPIRED; the chain refused it for ORDER_CLOSED" in (
        found.detail
    )


def test_a_settled_fill_sent_again_and_refused_is_a_resend() -> None:
    outcomes = [_outcome(1, MAKERS[0]), _outcome(2, MAKERS[0], reason="OVERFILL")]
    tally = compare(FILLS, [], outcomes, NAMES)
    assert tally.found == [] and (tally.settled, tally.rejected, tally.resent) == (1, 0, 1)
