"""The HTTP API's pure helpers: amounts as exact decimal strings, the journal's anchors,
the operator log's bounded window and totals."""

from __future__ import annotations

from pathlib import Path

import pytest

from perpdex.core.eip712 import FeePpm, Nonce, Order, SignedOrder, UnixTime
from perpdex.core.signing import Signature
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    OrderHash,
    Price,
    Size,
    TimeInForce,
)
from perpdex.core.units import to_price_units, to_size_units
from perpdex.engine.journal import ChainHead, JournalEntry
from perpdex.http.amounts import ppm_text, price_text, size_text, usdc_text
from perpdex.http.journal_pages import ANCHORS_KEPT, GENESIS_ANCHOR, Anchor, Anchors
from perpdex.http.operator_log import KEPT, OperatorLog
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import (
    Rejected,
    RejectReason,
    Settled,
    SettlementReport,
    SettleTransaction,
    TxHash,
)


@pytest.mark.parametrize(
    ("text", "convert", "units"),
    [
        ("100000.5", price_text, to_price_units("100000.5")),
        ("0.0001", size_text, to_size_units("0.0001")),
        ("-3", size_text, -to_size_units("3")),
        ("0", size_text, 0),
        ("30000", price_text, to_price_units("30000")),  # no exponent: not 3E+4
    ],
)
def test_amounts_are_exact_and_plain(text: str, convert: object, units: int) -> None:
    assert convert(units) == text  # type: ignore[operator]


def test_fractions_and_usdc() -> None:
    assert ppm_text(200) == "0.0002"
    assert ppm_text(50_000) == "0.05"
    assert usdc_text(1_000_000_000_001) == "1000000.000001"


def test_anchors_give_the_nearest_verified_head_and_forget_another_file() -> None:
    anchors, path = Anchors(), Path("a.bin")

    def entry(seq: int, where: int) -> JournalEntry:
        return JournalEntry(seq, b"", seq.to_bytes(32, "big"), where)

    assert anchors.before(path, 10) == GENESIS_ANCHOR
    anchors.add(path, entry(4, 400))
    anchors.add(path, entry(8, 800))
    assert anchors.before(path, 3) == GENESIS_ANCHOR
    assert anchors.before(path, 7) == Anchor(ChainHead(4, (4).to_bytes(32, "big")), 400)
    assert anchors.before(path, 8).where == 800  # where the store holds the entry
    assert anchors.before(Path("b.bin"), 8) == GENESIS_ANCHOR  # another chain's journal
    assert anchors.before(path, 8) == GENESIS_ANCHOR  # ... replaced this one's heads
    for seq in range(1, ANCHORS_KEPT + 2):
        anchors.add(path, entry(seq, seq))
    assert anchors.before(path, 1) == GENESIS_ANCHOR  # the oldest went first
    assert anchors.before(path, 2).head.seq == 2


def _match() -> Match:
    def signed(is_buy: bool, trader: str) -> SignedOrder:
        order = Order(
            trader=Address(trader),
            market=MarketId(1),
            is_buy=is_buy,
            size=Size(to_size_units("1")),
            limit_price=Price(to_price_units("3000")),
            max_fee_ppm=FeePpm(500),
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=UnixTime(2_000_000_000),
            nonce=Nonce(1),
        )
        return SignedOrder(order, Signature(27, 1, 1), OrderHash(bytes([is_buy]) * 32))

    return Match(
        signed(False, "0x" + "11" * 20),
        signed(True, "0x" + "22" * 20),
        Price(to_price_units("3000")),
        Size(to_size_units("1")),
    )


def test_the_operator_log_keeps_a_bounded_window_and_whole_totals() -> None:
    log, match = OperatorLog(), _match()
    for i in range(KEPT + 10):
        tx = SettleTransaction(TxHash(f"0x{i:064x}"), i, i, 100_000, 2, 1, 1)
        refused = Rejected(match, RejectReason.EXPIRED, tx_hash=tx.tx_hash)
        log.settlement(SettlementReport((Settled(match, tx.tx_hash, i), refused), (tx,)))
    assert len(log.batches) == len(log.refused) == KEPT
    assert log.batches[-1].block == KEPT + 9  # the newest kept
    assert log.settle_transactions == KEPT + 10  # the totals count everything
    assert log.settle_gas == 100_000 * (KEPT + 10)
    assert log.settled_fills == KEPT + 10
    assert log.refusals == {"EXPIRED": KEPT + 10}
