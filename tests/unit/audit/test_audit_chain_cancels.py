"""A cancel the journal blames on the chain needs the trader's own closure on chain: an
``OrderCancelled`` of the order's nonce or a nonce floor raised past it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.audit.audit_testing import audit, key, signed_order, write_journal

from perpdex.audit.audit import ChainView
from perpdex.audit.findings import Check
from perpdex.audit.onchain import NonceClosures
from perpdex.engine.commands import ChainCancel
from perpdex.engine.errors import CancelReason

TRADER = key("trader")
ORDER = signed_order(TRADER, 7, buy=False, price=100)  # its nonce is 7
ON_CHAIN = ChainCancel(orders=((ORDER.market, ORDER.order_id),), reason=CancelReason.ON_CHAIN)
OTHER = ChainCancel(orders=((ORDER.market, ORDER.order_id),), reason=CancelReason.FEE_ABOVE_CAP)
TRADER_ID = TRADER.address.lower()


@pytest.mark.parametrize(
    "closures",
    [
        NonceClosures(cancelled={(TRADER_ID, 7)}),
        NonceClosures(floors={TRADER_ID: 8}),
    ],
)
def test_a_cancel_the_trader_made_on_chain_passes(tmp_path: Path, closures: NonceClosures) -> None:
    path = write_journal(tmp_path / "j.bin", [(1_000, ORDER), (1_001, ON_CHAIN)])
    report = audit(path, chain=ChainView([], [], 0, lambda: closures))
    assert report.ok, report.text()


@pytest.mark.parametrize(
    "closures",
    [
        NonceClosures(),
        NonceClosures(cancelled={(TRADER_ID, 6)}),
        NonceClosures(floors={TRADER_ID: 7}),  # nonce 7 is not below a floor of 7
    ],
)
def test_a_cancel_blamed_on_a_trader_who_did_not_make_it(
    tmp_path: Path, closures: NonceClosures
) -> None:
    path = write_journal(tmp_path / "j.bin", [(1_000, ORDER), (1_001, ON_CHAIN), (1_002, OTHER)])
    report = audit(path, chain=ChainView([], [], 0, lambda: closures))
    (found,) = report.discrepancies
    assert found.check is Check.CHAIN_CANCEL and found.seq == 2
    assert "never cancelled nonce 7" in found.detail
