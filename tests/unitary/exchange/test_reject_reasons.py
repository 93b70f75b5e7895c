"""Every reason the Exchange can skip a fill with has a name in :class:`RejectReason`, so the
batcher never meets a ``FillRejected`` code it cannot report."""

from __future__ import annotations

from tests.unitary.exchange.venue import Venue

from perpdex.settlement.fault import FAULTS
from perpdex.settlement.outcomes import RejectReason

PREFIX = "REJECT_"


def test_every_reject_code_of_the_contract_is_named(venue: Venue) -> None:
    names = [
        entry["name"]
        for entry in venue.exchange.abi
        if entry["type"] == "function" and entry["name"].startswith(PREFIX)
    ]
    codes = {name.removeprefix(PREFIX): getattr(venue.exchange, name)() for name in names}
    assert len(codes) >= 17
    assert set(codes) <= {reason.value for reason in RejectReason}
    assert len(set(codes.values())) == len(codes)  # one code per reason
    # and the node knows whose order to end when the contract skips a fill with it
    assert {RejectReason(name) for name in codes} <= set(FAULTS)
