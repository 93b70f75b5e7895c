"""Receipts end to end on a real anvil through `perpdex up`'s node: every acknowledged
order gets a receipt that the SDK verifies against the Checkpoints operator and keeps,
whose head is the journal's at the order's seq; `perpdex receipts` shows it; and a lying
operator's receipts prove its fault on-chain, after which nothing settles."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import time
from pathlib import Path
from unittest.mock import ANY

import pytest
from tests.integration.node_testing import TIMEOUT_S, client, maker_and_trader, running

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind, demo_wallets, deploy
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.chain.transact import connect
from perpdex.cli.main import main
from perpdex.cli.up import fresh_deployment
from perpdex.core.eip712 import ChainHeadHash
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import EMBEDDED_SHARD
from perpdex.engine.codec import HEADER
from perpdex.engine.file_journal import read_file
from perpdex.receipts import ReceiptStore, SignedReceipt, sign_receipt
from perpdex.sdk.client import PlacedOrder
from perpdex.services.node import Node, NodeConfig


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    """A deployment of its own: a test here halts its Exchange for good."""
    return fresh_deployment(anvil.rpc_url)


def test_each_ack_brings_a_receipt_of_the_journal_that_the_sdk_keeps(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scenario() -> tuple[Path, list[PlacedOrder], SignedReceipt, Path]:
        async with running(deployment, tmp_path / "state") as node:
            async with client(node, Role.TRADER, tmp_path / "sdk") as trader:
                first = await trader.place("BTC-PERP", "buy", "0.01", "90000")
                receipt = await trader.receipt(first.order_hash)
                directory = trader.receipts.directory
                assert directory is not None
                # closing right after an ack (as `perpdex order` does) keeps its receipt
                last = await trader.place("BTC-PERP", "buy", "0.01", "90100")
            assert trader.receipts.bad == []
            return node.state.journal, [first, last], receipt, directory

    journal, placed, receipt, directory = asyncio.run(scenario())
    web3 = connect(deployment.rpc_url)
    operator = bind(web3, deployment).checkpoints.functions.operator().call()
    assert receipt.signer == operator == deployment.wallet(Role.KEEPER).address
    entries = {entry.seq: entry for entry in read_file(journal)}
    kept = list(ReceiptStore(directory))
    assert [(r.receipt.order_hash, r.receipt.shard, r.receipt.seq) for r in kept] == [
        (order.order_hash, EMBEDDED_SHARD, order.seq) for order in placed
    ]
    assert kept[0] == receipt
    for signed in kept:
        entry = entries[signed.receipt.seq]
        assert signed.receipt.head == entry.head
        assert signed.receipt.time == HEADER.unpack_from(entry.entry)[1]

    assert main(["receipts", "--dir", str(directory), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [r["receipt"]["orderHash"] for r in shown] == [
        "0x" + order.order_hash.hex() for order in placed
    ]


def test_a_lying_operators_receipts_halt_settlement(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keeper = SigningKey(bytes(deployment.wallet(Role.KEEPER).account().key))
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")

    async def scenario() -> tuple[SignedReceipt, SignedReceipt, int]:
        async with (
            running(deployment, tmp_path / "state") as node,
            maker_and_trader(node, tmp_path / "sdk") as (maker, trader),
        ):
            ask = await maker.place("BTC-PERP", "sell", "0.01", "100000")
            honest = await maker.receipt(ask.order_hash)
            # the same key tells another trader another head for that seq
            lie = sign_receipt(
                dataclasses.replace(honest.receipt, head=ChainHeadHash(keccak256(b"fork"))),
                keeper,
                honest.domain,
            )
            evidence = ReceiptStore(tmp_path / "evidence")
            files = [str(evidence.add(honest)), str(evidence.add(lie))]
            # anyone proves it: here the other trader, with the CLI
            command = ["receipts", "--prove", *files, "--deployment", str(deployment_file)]
            assert main([*command, "--wallet", "trader"]) == 0
            await trader.place("BTC-PERP", "buy", "0.01", "100000")  # crosses the ask
            await asyncio.sleep(1.0)  # settlement tries, and fails
            settled = await trader.settled_positions()
        return honest, lie, len(settled)

    honest, lie, positions = asyncio.run(scenario())
    assert "is on record" in capsys.readouterr().out
    checkpoints = bind(connect(deployment.rpc_url), deployment).checkpoints
    assert checkpoints.functions.faulted().call() is True
    shard, seq, head, other, index, _ = checkpoints.functions.fault().call()
    assert (shard, seq, head, other, index) == (
        EMBEDDED_SHARD,
        honest.receipt.seq,
        honest.receipt.head,
        lie.receipt.head,
        0,
    )
    assert positions == 0  # the fill never settled


def test_a_receipt_against_its_checkpoint_proves_the_fault(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keeper = SigningKey(bytes(deployment.wallet(Role.KEEPER).account().key))
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")

    async def scenario() -> tuple[SignedReceipt, int]:
        async with (
            running(deployment, tmp_path / "state") as node,
            client(node, Role.MAKER, tmp_path / "sdk") as maker,
        ):
            ask = await maker.place("BTC-PERP", "sell", "0.01", "110000")
            honest = await maker.receipt(ask.order_hash)
            return honest, await wait_for_checkpoint(deployment, honest.receipt.seq)

    honest, index = asyncio.run(scenario())
    checkpoints = bind(connect(deployment.rpc_url), deployment).checkpoints
    seq, _, _ = checkpoints.functions.checkpoint(EMBEDDED_SHARD, index).call()
    evidence = ReceiptStore(tmp_path / "evidence")
    command = ["receipts", "--deployment", str(deployment_file), "--wallet", "trader", "--prove"]
    # the honest receipt is no proof: its checkpoint matches it, or none is at its seq
    assert main([*command, str(evidence.add(honest))]) == 1
    assert re.search(
        r"matches the checkpoint|no checkpoint of shard 0 is at seq", capsys.readouterr().err
    )
    assert checkpoints.functions.faulted().call() is False
    # a receipt the same key signs for the checkpoint's seq with another head is
    lie = sign_receipt(
        dataclasses.replace(honest.receipt, seq=seq, head=ChainHeadHash(keccak256(b"fork"))),
        keeper,
        honest.domain,
    )
    assert main([*command, str(evidence.add(lie))]) == 0
    assert checkpoints.functions.faulted().call() is True
    assert tuple(checkpoints.functions.fault().call())[:5] == (
        EMBEDDED_SHARD,
        seq,
        lie.receipt.head,
        ANY,
        index,
    )
    # a second proof changes nothing, and says so
    assert main([*command, str(evidence.add(lie))]) == 0
    assert "already on record" in capsys.readouterr().out


async def wait_for_checkpoint(deployment: Deployment, seq: int) -> int:
    """The index of the first checkpoint at or past ``seq``, once the keeper posted it."""
    checkpoints = bind(connect(deployment.rpc_url), deployment).checkpoints
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        count = checkpoints.functions.count(EMBEDDED_SHARD).call()
        for index in range(1, count + 1):
            if checkpoints.functions.checkpoint(EMBEDDED_SHARD, index).call()[0] >= seq:
                return index
        await asyncio.sleep(0.2)
    raise AssertionError(f"no checkpoint reached seq {seq}")


def test_a_node_warns_when_its_keeper_is_not_the_checkpoints_operator(
    anvil: Anvil, deployment: Deployment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    web3 = connect(anvil.rpc_url)
    with caplog.at_level(logging.WARNING, logger="perpdex.services.node"):
        Node(deployment, NodeConfig(state_dir=tmp_path))._check_receipt_signer(web3)
        assert caplog.records == []  # perpdex up's deployment: the keeper posts checkpoints
        plain = deploy(anvil.rpc_url, demo_wallets(anvil.accounts))  # the operator posts them
        Node(plain, NodeConfig(state_dir=tmp_path))._check_receipt_signer(web3)
    (warning,) = caplog.records
    assert "traders will refuse them" in warning.getMessage()
