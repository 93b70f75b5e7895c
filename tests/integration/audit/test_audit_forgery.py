"""``perpdex audit`` against an operator that lies, on a real anvil with the real contracts:
each lie is caught by the check that should catch it, with its message; the honest operator
passes. The operator here is driven by hand (``operator_kit``) so that it can lie."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from tests.integration.audit.operator_kit import Operator, operator_on
from web3 import Web3

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import demo_wallets, deploy
from perpdex.core.signing import SigningKey
from perpdex.core.types import Price
from perpdex.engine.commands import ChainCancel
from perpdex.engine.errors import CancelReason
from perpdex.engine.file_journal import frames, read_file
from perpdex.settlement.encoding import Match


@pytest.fixture
def operator(anvil: Anvil, web3: Web3, tmp_path: Path) -> Iterator[Operator]:
    kit = operator_on(web3, deploy(anvil.rpc_url, demo_wallets(anvil.accounts)), tmp_path)
    yield kit
    kit.close()


def _trade(kit: Operator) -> None:
    """Two makers ask at the index price, a taker buys both: two fills, settled and
    checkpointed."""
    first, second, taker = kit.traders(3)
    kit.submit(
        kit.new_order(kit.signed(first, buy=False)),
        kit.new_order(kit.signed(second, buy=False)),
        kit.new_order(kit.signed(taker, buy=True, lots=2)),
    )
    assert kit.settle().settled
    kit.checkpoint()


def test_the_honest_operator_passes(operator: Operator) -> None:
    _trade(operator)

    code, report = operator.audit()

    assert code == 0, report
    summary = report["summary"]
    assert (summary["commands"], summary["fills"], summary["settled"]) == (3, 2, 2)
    assert summary["checkpointsChecked"] == 1
    assert summary["pending"] == 0 and summary["unchecked"] == 0
    code, text = operator.audit_text()
    assert code == 0 and text.rstrip().endswith("OK: every check that ran holds")
    assert "settled        2" in text and "1 checked of 1 posted" in text


def test_a_fill_the_journal_never_matched_settled_with_the_operator_key(operator: Operator) -> None:
    _trade(operator)
    seller, buyer = operator.traders(2)
    forged = Match(
        maker=operator.signed(seller, buy=False),
        taker=operator.signed(buyer, buy=True),
        price=operator.market.index_price,
        size=operator.market.lot_size,
    )
    assert operator.settle([forged]).settled  # the contract takes it: both orders are signed

    code, report = operator.audit()

    assert code == 1
    first = report["first"]
    text_code, text = operator.audit_text()
    assert text_code == 1 and "FAILED: 1 discrepancies; the first:" in text
    assert f"settlement: no journal entry, order {first['orderHash']}:" in text
    assert first["check"] == "settlement" and first["seq"] is None
    assert first["orderHash"] == "0x" + forged.taker.order_hash.hex()
    assert "a fill the journal never matched" in first["detail"]
    assert first["evidence"]["maker_hash"] == "0x" + forged.maker.order_hash.hex()


def test_a_checkpoint_that_does_not_match_the_journal(operator: Operator) -> None:
    _trade(operator)
    (late,) = operator.traders(1)
    operator.submit(operator.new_order(operator.signed(late, buy=False, ticks=5)))
    operator.post_checkpoint(4, b"\x01" * 32)  # a head of some other log

    code, report = operator.audit()

    assert code == 1
    first = report["first"]
    assert first["check"] == "checkpoint" and first["seq"] == 4
    assert "checkpoint 2" in first["detail"] and "not the committed 0x0101" in first["detail"]


def test_a_fill_that_jumped_the_queue(operator: Operator) -> None:
    """The operator misstates the first maker's price in its journal (one tick worse than
    signed) so that its engine serves the second maker, at the same signed price, first.
    The journal is hash-chained as written, checkpointed, and every fill settles: the hash
    chain, the checkpoints and the settlement agree; only the priority check sees it."""
    first, second, taker = operator.traders(3)
    early = operator.new_order(operator.signed(first, buy=False))
    later = operator.new_order(operator.signed(second, buy=False))
    tick = operator.market.tick_size
    operator.submit(
        replace(early, price=Price(early.price + tick)),
        later,
        operator.new_order(operator.signed(taker, buy=True, ticks=1)),
    )
    assert [fill.maker_order_id for fill in operator.fills] == [later.order_id]
    assert operator.settle().settled
    operator.checkpoint()

    code, report = operator.audit()

    assert code == 1
    assert [d["check"] for d in report["discrepancies"]] == ["price-time priority"]
    found = report["first"]
    assert found["seq"] == 3
    assert f"order #{later.order_id}" in found["detail"] and "jumped the queue" in found["detail"]
    assert f"order #{early.order_id}" in found["detail"]
    assert report["summary"]["settled"] == 1 and report["summary"]["checkpointsChecked"] == 1


def test_a_flipped_byte_and_two_swapped_commands(operator: Operator, tmp_path: Path) -> None:
    _trade(operator)
    data = operator.journal_path.read_bytes()
    with open(operator.journal_path, "rb") as file:
        (a, _, _), (b, entry_b, _), _ = list(frames(file))
    flipped = bytearray(data)
    flipped[b + 4 + len(entry_b) - 1] ^= 0x80
    (tmp_path / "flipped.bin").write_bytes(bytes(flipped))
    end_b = b + 4 + len(entry_b) + 32
    (tmp_path / "swapped.bin").write_bytes(data[:a] + data[b:end_b] + data[a:b] + data[end_b:])

    flipped_code, flipped_report = operator.audit(tmp_path / "flipped.bin")
    swapped_code, swapped_report = operator.audit(tmp_path / "swapped.bin")

    assert flipped_code == swapped_code == 1
    assert flipped_report["first"]["check"] == "hash chain" and flipped_report["first"]["seq"] == 2
    assert "altered" in flipped_report["first"]["detail"]
    assert swapped_report["first"]["check"] == "hash chain" and swapped_report["first"]["seq"] == 1
    assert "found sequence number 2" in swapped_report["first"]["detail"]
    assert len(list(read_file(operator.journal_path))) == 3  # the original is untouched


def test_an_order_with_a_receipt_left_out_of_the_journal(
    operator: Operator, tmp_path: Path
) -> None:
    """The operator acknowledged three orders with signed receipts, then publishes (and
    checkpoints) a journal without the second, which never traded: the hash chain, the
    checkpoints and the settlement all agree with that journal; the receipts do not."""
    first, second, taker = operator.traders(3)
    operator.submit(
        operator.new_order(operator.signed(first, buy=False)),
        operator.new_order(operator.signed(second, buy=False, ticks=5)),
        operator.new_order(operator.signed(taker, buy=True)),
    )
    assert operator.settle().settled
    published = operator.submitted[:1] + operator.submitted[2:]
    forged = operator.write_journal(tmp_path / "published.bin", published)
    operator.checkpoint(forged)
    receipts = operator.receipts.directory
    assert len(operator.receipts.paths()) == 3

    code, report = operator.audit(forged, "--receipts", str(receipts))

    assert code == 1
    assert {d["check"] for d in report["discrepancies"]} == {"receipt"}, report["discrepancies"]
    first_found = report["first"]
    omitted = operator.submitted[1][1]
    assert first_found["seq"] == 2 and "omitted" in first_found["detail"]
    assert first_found["orderHash"] == operator.hash_of(omitted)
    assert first_found["evidence"]["signer"] == operator.operator.address
    assert first_found["evidence"]["signature"].startswith("0x")
    (moved,) = [d for d in report["discrepancies"] if d["seq"] == 3]
    assert "reordered" in moved["detail"] and "at seq 2" in moved["detail"]
    assert report["summary"]["receipts"] == 3 and report["summary"]["settled"] == 1

    honest_code, honest = operator.audit(None, "--receipts", str(receipts))
    assert honest_code == 1  # its head was never checkpointed: the forged one was
    assert {d["check"] for d in honest["discrepancies"]} == {"checkpoint"}


def test_an_order_pulled_off_the_book_and_blamed_on_its_trader(operator: Operator) -> None:
    """Two resting orders leave the book as "cancelled on chain": one trader did raise its
    nonce floor past its order, the other never touched the chain."""
    honest, victim = operator.traders(2)
    closed = operator.new_order(operator.signed(honest, buy=False, ticks=3))
    pulled = operator.new_order(operator.signed(victim, buy=False, ticks=4))
    operator.submit(closed, pulled)
    operator.raise_nonce_floor(honest, 10**6)
    operator.submit(
        ChainCancel(
            orders=((closed.market, closed.order_id), (pulled.market, pulled.order_id)),
            reason=CancelReason.ON_CHAIN,
        )
    )
    operator.checkpoint()

    code, report = operator.audit()

    assert code == 1
    (found,) = report["discrepancies"]
    assert found["check"] == "chain cancel" and found["seq"] == 3
    assert found["orderHash"] == operator.hash_of(pulled)
    assert f"by its trader {victim.address}, who never cancelled nonce" in found["detail"]


def test_an_order_made_up_in_a_traders_name(operator: Operator) -> None:
    """The operator matches a buy it made up in a victim's name (the terms signed with its
    own key) against a maker's resting ask: the ask leaves the book, the fill is never
    sent (the chain would refuse it), and the journal is checkpointed as written. Only the
    signature check says nobody signed the buy."""
    maker, victim = operator.traders(2)
    ask = operator.new_order(operator.signed(maker, buy=False))
    own = operator.signed(SigningKey(bytes(operator.operator.key)), buy=True)
    made_up = operator.new_order(replace(own, order=replace(own.order, trader=victim.address)))
    operator.submit(ask, made_up)
    assert [fill.maker_order_id for fill in operator.fills] == [ask.order_id]
    operator.checkpoint()

    code, report = operator.audit()

    assert code == 1
    assert [d["check"] for d in report["discrepancies"]] == ["signature"], report
    found = report["first"]
    assert found["seq"] == 2 and found["orderHash"] == operator.hash_of(made_up)
    assert f"order #{made_up.order_id}" in found["detail"]
    assert "is not signed by its trader" in found["detail"]
    assert report["summary"]["signatures"] == 2 and report["summary"]["checkpointsChecked"] == 1
