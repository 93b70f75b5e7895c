"""The fold of on-chain order cancels: which nonces the contract would refuse to fill."""

from __future__ import annotations

from perpdex.core.types import Address, OrderHash
from perpdex.risk.events import LogPosition, NonceFloorRaised, OrderCancelled
from perpdex.risk.ledger import Ledger

TRADER = Address("0x" + "a1" * 20)
OTHER = Address("0x" + "b0" * 20)


def test_a_cancelled_nonce_and_everything_below_a_raised_floor_are_closed() -> None:
    ledger = Ledger()
    ledger.apply(OrderCancelled(LogPosition(1, 0), TRADER, 7, OrderHash(bytes(32))))
    assert ledger.nonces.is_closed(TRADER, 7)
    assert not ledger.nonces.is_closed(TRADER, 6) and not ledger.nonces.is_closed(OTHER, 7)
    ledger.apply(NonceFloorRaised(LogPosition(2, 0), TRADER, 5))
    assert [n for n in range(10) if ledger.nonces.is_closed(TRADER, n)] == [0, 1, 2, 3, 4, 7]
    nonces = ledger.nonces.of(TRADER)
    assert nonces.why_closed(4) == "nonce 4 is below the nonce floor 5 on chain"
    assert nonces.why_closed(7) == "nonce 7 is cancelled on chain"
    assert nonces.why_closed(6) is None
    ledger.apply(NonceFloorRaised(LogPosition(3, 0), TRADER, 9))
    assert ledger.nonces.of(TRADER).closed == set()  # folded into the floor
    assert ledger.closed == {TRADER}
    assert TRADER not in ledger.accounts  # a cancel moves no money: no account is made


def test_a_cancel_read_twice_is_folded_once() -> None:
    ledger = Ledger()
    raised = NonceFloorRaised(LogPosition(2, 0), TRADER, 5)
    ledger.apply(raised)
    ledger.closed = set()
    ledger.apply(raised)
    assert ledger.closed == set()
