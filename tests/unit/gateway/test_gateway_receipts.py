"""Every order the gateway acknowledges gets the operator's signed receipt, after its ack:
its shard (the embedded node's, 0), journal seq, the chain head after its entry and the
entry's time stamp, all as the journal file has them; signed on the loop or in a worker
process alike."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.gateway_testing import (
    MAKER,
    TAKER,
    next_frame,
    place,
    running_gateway,
    signed,
    url,
)
from websockets.asyncio.client import ClientConnection, connect

from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import EMBEDDED_SHARD, Address
from perpdex.engine.codec import HEADER
from perpdex.engine.file_journal import read_file
from perpdex.gateway import protocol as wire
from perpdex.gateway.receipts import ReceiptKey, ReceiptSigner, make_signer
from perpdex.receipts import Receipt, verify_receipt
from perpdex.receipts import receipt_domain as make_domain

OPERATOR = SigningKey(keccak256(b"receipts operator"))
CHECKPOINTS = Address("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
RECEIPT_DOMAIN = make_domain(31337, CHECKPOINTS)


@pytest.fixture(params=["inline", "worker"])
def signer_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def signer(kind: str) -> ReceiptSigner:
    return make_signer(ReceiptKey(OPERATOR, RECEIPT_DOMAIN), worker=kind == "worker")


async def frames_until(ws: ClientConnection, count: int) -> list[wire.Frame]:
    """Frames until ``count`` receipts arrived."""
    frames: list[wire.Frame] = []
    while sum(isinstance(f, wire.ReceiptIssued) for f in frames) < count:
        frames.append(await asyncio.wait_for(next_frame(ws), 10))
    return frames


def receipts_of(frames: list[wire.Frame]) -> list[Receipt]:
    found = []
    for frame in frames:
        if isinstance(frame, wire.ReceiptIssued):
            wire_receipt = frame.receipt
            receipt = wire_receipt.to_receipt()
            verify_receipt(receipt, wire_receipt.to_signature(), RECEIPT_DOMAIN, OPERATOR.address)
            found.append(receipt)
    return found


@pytest.mark.parametrize("group_size", [1024, 1, 2])
def test_each_acknowledged_order_gets_a_receipt_of_its_journal_entry(
    tmp_path: Path, signer_kind: str, group_size: int
) -> None:
    """``group_size`` 1 and 2: a full group is made durable inside the submit of its last
    command, before the gateway learns which order that command placed."""
    journal = tmp_path / "journal.bin"
    ask = signed(MAKER, 1, is_buy=False, size=2000)
    bid = signed(TAKER, 2, is_buy=True, size=1000)  # trades with the ask

    async def scenario() -> list[wire.Frame]:
        async with (
            running_gateway(
                journal=journal, receipts=signer(signer_kind), group_size=group_size
            ) as server,
            connect(url(server)) as ws,
        ):
            await ws.send(b"[" + place(ask, id=1) + b"," + place(bid, id=2) + b"]")
            return await frames_until(ws, 2)

    frames = asyncio.run(scenario())
    acks = [f for f in frames if isinstance(f, wire.Placed)]
    assert all(ack.receipt for ack in acks)  # each ack says a receipt follows
    receipts = receipts_of(frames)
    # each receipt comes after its order's ack
    assert frames.index(acks[0]) < [type(f) for f in frames].index(wire.ReceiptIssued)
    entries = {e.seq: e for e in read_file(journal)}
    assert [(r.order_hash, r.shard, r.seq) for r in receipts] == [
        (ask.order_hash, EMBEDDED_SHARD, acks[0].seq),
        (bid.order_hash, EMBEDDED_SHARD, acks[1].seq),
    ]
    for receipt in receipts:
        entry = entries[receipt.seq]
        assert receipt.head == entry.head
        assert receipt.time == HEADER.unpack_from(entry.entry)[1]


def test_an_amend_gets_a_receipt_of_the_replacing_order(tmp_path: Path) -> None:
    first = signed(MAKER, 1, is_buy=False)
    replacing = signed(MAKER, 2, is_buy=False, price=1100)

    async def scenario() -> list[wire.Frame]:
        async with (
            running_gateway(journal=tmp_path / "j.bin", receipts=signer("inline")) as server,
            connect(url(server)) as ws,
        ):
            await ws.send(place(first).decode())
            await frames_until(ws, 1)
            amend = wire.AmendRequest(
                order_hash=wire.hex0x(first.order_hash),
                order=wire.WireOrder.of(replacing.order),
                signature=wire.hex0x(replacing.signature.to_bytes()),
            )
            await ws.send(wire.encode_frame(amend).decode())
            return await frames_until(ws, 1)

    frames = asyncio.run(scenario())
    (amended,) = [f for f in frames if isinstance(f, wire.Amended)]
    assert amended.receipt
    (receipt,) = receipts_of(frames)
    assert (receipt.order_hash, receipt.seq) == (replacing.order_hash, amended.seq)


def test_a_refused_order_gets_no_receipt(tmp_path: Path) -> None:
    order = signed(MAKER, 1, is_buy=False)

    async def scenario() -> list[wire.Frame]:
        async with (
            running_gateway(journal=tmp_path / "j.bin", receipts=signer("inline")) as server,
            connect(url(server)) as ws,
        ):
            await ws.send(place(order).decode())
            await frames_until(ws, 1)
            await ws.send(place(order).decode())  # a replay
            error = await asyncio.wait_for(next_frame(ws), 10)
            await ws.send(place(signed(MAKER, 2, is_buy=False)).decode())
            return [error, *await frames_until(ws, 1)]

    frames = asyncio.run(scenario())
    assert isinstance(frames[0], wire.Error)
    (receipt,) = receipts_of(frames)
    assert receipt.order_hash != order.order_hash


def test_without_a_signer_acks_promise_no_receipt(tmp_path: Path) -> None:
    async def scenario() -> wire.Frame:
        async with (
            running_gateway(journal=tmp_path / "j.bin") as server,
            connect(url(server)) as ws,
        ):
            await ws.send(place(signed(MAKER, 1, is_buy=False)).decode())
            return await asyncio.wait_for(next_frame(ws), 10)

    ack = asyncio.run(scenario())
    assert isinstance(ack, wire.Placed)
    assert ack.receipt is False


def test_receipts_need_a_journal() -> None:
    async def scenario() -> None:
        async with running_gateway(receipts=signer("inline")):
            pass

    with pytest.raises(ValueError, match="journal"):
        asyncio.run(scenario())


def test_an_idempotent_retry_gets_the_ack_and_the_receipt_again(tmp_path: Path) -> None:
    order = signed(MAKER, 1, is_buy=False)

    async def scenario() -> tuple[list[wire.Frame], list[wire.Frame]]:
        async with (
            running_gateway(journal=tmp_path / "j.bin", receipts=signer("inline")) as server,
            connect(url(server)) as ws,
        ):
            await ws.send(place(order, client_id="a").decode())
            first = await frames_until(ws, 1)
            await ws.send(place(order, client_id="a").decode())  # the ack was lost, say
            return first, await frames_until(ws, 1)

    first, again = asyncio.run(scenario())
    assert receipts_of(again) == receipts_of(first)
    assert [type(f) for f in again] == [wire.Placed, wire.ReceiptIssued]
