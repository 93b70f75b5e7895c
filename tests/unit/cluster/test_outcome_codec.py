"""Settlement outcomes survive the trip through a JetStream message unchanged, and a
message that is not one is refused."""

from __future__ import annotations

import msgspec
import pytest
from tests.unit.settlement.test_batcher_payload import DOMAIN, MAKER, STOP, TAKER, signed

from perpdex.cluster.outcomes import decode_outcome, encode_outcome, outcome_message_id
from perpdex.core.types import Price, Size
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import Rejected, RejectReason, Settled, TxHash

MATCH = Match(
    maker=signed(MAKER, is_buy=False, reduce_only=False),
    taker=signed(TAKER, is_buy=True, reduce_only=True, **STOP),
    price=Price(10**11),
    size=Size(3),
)


@pytest.mark.parametrize(
    "outcome",
    [
        Settled(MATCH, TxHash("0x" + "ab" * 32), 77),
        Settled(MATCH, TxHash("0x" + "cd" * 32), 78, earlier=True),
        Rejected(MATCH, RejectReason.ORDER_CLOSED, tx_hash=TxHash("0x" + "ef" * 32)),
        Rejected(MATCH, RejectReason.MARGIN_CHECK_FAILED, account=MATCH.taker.order.trader),
        Rejected(MATCH, RejectReason.FAILS_ALONE, cause="ValueError: bad"),
    ],
)
def test_an_outcome_round_trips(outcome: Settled | Rejected) -> None:
    assert decode_outcome(encode_outcome(outcome), DOMAIN) == outcome
    assert outcome_message_id(outcome).endswith(
        MATCH.maker.order_hash.hex() + MATCH.taker.order_hash.hex()
    )


def test_a_message_that_is_no_outcome_is_refused() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_outcome(b"\x93\x01\x02\x03", DOMAIN)
    settled_without_block = encode_outcome(Settled(MATCH, TxHash("0x01"), 1)).replace(
        b"\x01", b"\xc0", 1
    )
    with pytest.raises((ValueError, msgspec.DecodeError)):
        decode_outcome(settled_without_block, DOMAIN)
