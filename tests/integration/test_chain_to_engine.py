"""What the chain says reaches the engine and the traders (issue 11, items 3 and 4), on a
real anvil with the real node, gateway and SDK: orders closed on chain (all of them by the
nonce floor, one by its hash, some by nonce) leave the book with a journaled command, new
orders with a closed nonce are refused, and a fill the chain refuses is reported to both
traders, ends the order at fault (only) and is counted and logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from tests.integration.node_testing import (
    client,
    maker_and_trader,
    running,
    settling_by_hand,
    until,
)
from web3.types import RPCEndpoint

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.chain.transact import connect, send
from perpdex.cli.main import main as perpdex
from perpdex.cli.up import fresh_deployment
from perpdex.core.eip712 import Nonce, sign_order
from perpdex.core.types import Address, Collateral, OrderHash, Price
from perpdex.core.units import from_collateral_units, to_size_units
from perpdex.engine.errors import CancelReason
from perpdex.engine.events import Cancelled, Event, FillRejected
from perpdex.gateway.protocol import Placed, PlaceRequest, WireOrder, hex0x
from perpdex.sdk.chain_client import ChainClient
from perpdex.sdk.client import Client, PlacedOrder
from perpdex.sdk.gateway_errors import NonceClosedError
from perpdex.sdk.keys import Wallet
from perpdex.sdk.subscriptions import AccountEvent, Subscription
from perpdex.sdk.values import Fill, OrderUpdate
from perpdex.sdk.values import FillRejected as RejectedFill
from perpdex.services.engine import replay_events
from perpdex.services.node import Node
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.encoding import Match, pack_order
from perpdex.settlement.outcomes import RejectReason, SettlementReport, fill_key
from perpdex.settlement.payload import order_from_payload
from perpdex.settlement.runner import ISOLATE_AFTER_ROUNDS

WAIT_S = 20.0


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    # one per test: the tests close the maker's nonces on chain, and a fresh nonce file
    # started in the same second as an earlier test's would sign with nonces it closed
    return fresh_deployment(anvil.rpc_url)


def resting_hashes(node: Node, trader: Address) -> set[OrderHash]:
    resting = node.engine.resting([trader])
    return {order_from_payload(o.command.payload, node.domain).order_hash for o in resting}


async def events_until(
    stream: Subscription[AccountEvent], done: type, count: int
) -> list[AccountEvent]:
    """Account events up to the ``count``-th of type ``done``."""
    seen: list[AccountEvent] = []
    async with asyncio.timeout(WAIT_S):
        async for event in stream:
            seen.append(event)
            if sum(isinstance(e, done) for e in seen) == count:
                return seen
    raise AssertionError("the stream ended")


async def place_with_nonce(trader: Client, like: PlacedOrder, nonce: int) -> Placed:
    """An order on ``like``'s terms at twice its price (on the grid) with ``nonce``, which
    the gateway has not seen (it refuses a seen one as replayed before asking the chain)."""
    terms = like.signed.order
    order = replace(terms, limit_price=Price(2 * terms.limit_price), nonce=Nonce(nonce))
    signed = sign_order(order, trader.wallet.signing_key, trader.domain)
    request = PlaceRequest(order=WireOrder.of(order), signature=hex0x(signed.signature.to_bytes()))
    return await trader._request(request, Placed)


def cancelled_on_chain(events: list[AccountEvent]) -> set[str]:
    return {
        e.order_hash
        for e in events
        if isinstance(e, OrderUpdate) and e.reason == CancelReason.ON_CHAIN.value
    }


def test_on_chain_cancel_all_takes_the_orders_off_the_book(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The regression of issue 11 item 4: after ``perpdex cancel --on-chain --all`` the
    orders stayed in the book and a taker filled them, fills that could never settle."""
    file = write_deployment(deployment, tmp_path / "local.json")
    monkeypatch.setenv("PERPDEX_STATE_DIR", str(tmp_path))  # the CLI's nonce file = the SDK's

    async def scenario() -> None:
        async with (
            running(deployment, tmp_path / "state") as node,
            maker_and_trader(node, tmp_path) as (maker, taker),
        ):
            stream = await maker.account()
            asks = [
                await maker.place("BTC-PERP", "sell", "0.01", "101000"),
                await maker.place("ETH-PERP", "sell", "0.1", "3100"),
            ]
            assert resting_hashes(node, maker.address) == {a.order_hash for a in asks}
            argv = ["cancel", "--on-chain", "--all", "--wallet", "maker"]
            code = await asyncio.to_thread(perpdex, [*argv, "--deployment", str(file)])
            assert code == 0
            await until(lambda: not resting_hashes(node, maker.address), "the cancels")
            events = await events_until(stream, OrderUpdate, 2)
            assert cancelled_on_chain(events) == {hex0x(a.order_hash) for a in asks}
            # nothing left to take: the taker's order rests, no fill is made
            await taker.place("BTC-PERP", "buy", "0.01", "101000")
            assert not node.runner.unsettled() and not len(node.pm.pending)
            floor = (await maker.chain()).account(maker.address).nonce_floor
            assert floor > max(a.nonce for a in asks) + 1  # unused nonces below it
            with pytest.raises(NonceClosedError):
                await place_with_nonce(maker, asks[0], floor - 1)
            await place_with_nonce(maker, asks[0], floor)

    asyncio.run(scenario())


def test_per_order_and_per_nonce_cancels_on_chain_take_only_those_orders_off_the_book(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            maker = client(node, Role.MAKER, tmp_path)
            async with maker:
                stream = await maker.account()
                by_hash, by_nonce, kept = [
                    await maker.place("BTC-PERP", "sell", "0.01", str(105000 + 100 * i))
                    for i in range(3)
                ]
                web3 = connect(deployment.rpc_url)
                exchange = bind(web3, deployment).exchange
                wallet = deployment.wallet(Role.MAKER).account()
                cancel = exchange.functions.cancel_order(pack_order(by_hash.signed))
                await asyncio.to_thread(send, web3, wallet, cancel)
                unused = maker.nonces.next()  # closed ahead of any order signed with it
                await maker.cancel_on_chain([by_nonce.nonce, unused])
                gone = {by_hash.order_hash, by_nonce.order_hash}
                await until(
                    lambda: resting_hashes(node, maker.address) == {kept.order_hash},
                    "the two cancels",
                )
                events = await events_until(stream, OrderUpdate, 2)
                assert cancelled_on_chain(events) == {hex0x(h) for h in gone}
                with pytest.raises(NonceClosedError):
                    await place_with_nonce(maker, kept, unused)
                await place_with_nonce(maker, kept, maker.nonces.next())  # an open one trades

    asyncio.run(scenario())


def test_a_cancel_made_on_chain_while_the_node_was_down_takes_the_order_off_at_start(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        state = tmp_path / "state"
        async with running(deployment, state) as node:
            maker = client(node, Role.MAKER, tmp_path)
            async with maker:
                kept = await maker.place("ETH-PERP", "sell", "0.1", "3500")
                gone = await maker.place("ETH-PERP", "sell", "0.1", "3600")
        key = deployment.wallet(Role.MAKER).private_key
        assert key is not None
        chain = ChainClient(deployment, Wallet.from_private_key(key))
        await asyncio.to_thread(chain.cancel_orders, [gone.nonce])
        async with running(deployment, state) as node:
            # at start, before the first poll of the position manager's loop
            assert resting_hashes(node, maker.address) == {kept.order_hash}

    asyncio.run(scenario())


Meddle = Callable[[Node, Client, PlacedOrder], Awaitable[None]]
"""What the taker does on chain between the match of its order and the settlement."""


async def rejected_between_match_and_settlement(
    deployment: Deployment,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    meddle: Meddle,
    reason: RejectReason,
    maker_at_fault: bool,
) -> None:
    """The maker rests 0.03, the taker takes 0.01, ``meddle`` makes the chain refuse the
    fill: both traders get ``fill_rejected`` with ``reason``; the maker's rest leaves the
    book only if ``reason`` blames it too (else the taker could pull it for free), the
    pending fill is gone, the rejection is counted, warned once, and journaled."""
    caplog.set_level(logging.WARNING)
    async with (
        settling_by_hand(deployment, tmp_path / "state") as node,
        maker_and_trader(node, tmp_path) as (maker, taker),
    ):
        maker_stream, taker_stream = await maker.account(), await taker.account()
        ask = await maker.place("BTC-PERP", "sell", "0.03", "100000")
        bid = await taker.place("BTC-PERP", "buy", "0.01", "100000")
        await until(lambda: len(node.runner.unsettled()) == 1, "the match")
        await meddle(node, taker, bid)
        report = await node.runner.settle_once()
        assert report is not None
        assert [r.reason for r in report.rejected] == [reason]

        maker_events = await events_until(
            maker_stream, OrderUpdate if maker_at_fault else RejectedFill, 1
        )
        taker_events = await events_until(taker_stream, RejectedFill, 1)
        for events, placed, is_maker in ((maker_events, ask, True), (taker_events, bid, False)):
            (fill,) = [e for e in events if isinstance(e, Fill)]
            (rejected,) = [e for e in events if isinstance(e, RejectedFill)]
            assert (rejected.order_hash, rejected.maker) == (fill.order_hash, is_maker)
            assert rejected.order_hash == hex0x(placed.order_hash)
            assert (rejected.order_id, rejected.side) == (fill.order_id, fill.side)
            assert (rejected.price, rejected.size) == (fill.price, fill.size)
            assert rejected.reason == reason.value
        if maker_at_fault:
            (rest,) = [e for e in maker_events if isinstance(e, OrderUpdate)]
            assert rest.reason == CancelReason.FILL_REJECTED.value
            assert rest.size == 2 * fill.size  # 0.03 signed, 0.01 matched
            assert not resting_hashes(node, maker.address)
        else:
            assert not [e for e in maker_events if isinstance(e, OrderUpdate)]
            assert resting_hashes(node, maker.address) == {ask.order_hash}
            (rest_order,) = node.engine.resting([maker.address])
            assert rest_order.remaining == to_size_units("0.02")  # keeps its rest
        assert not len(node.pm.pending)
        assert node.reconciler.rejected_fills == {reason.value: 1}
        # numbered in each trader's account stream, and kept in its history
        for trader, events in ((maker, maker_events), (taker, taker_events)):
            numbered = [e for e in events if isinstance(e, Fill | RejectedFill | OrderUpdate)]
            first = numbered[0].account_seq
            assert [e.account_seq for e in numbered] == list(range(first, first + len(numbered)))
            history = await trader.account_events(after=first)
            assert history.items[0] == numbered[1]

    warned = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and ask.order_hash.hex() in r.getMessage()
    ]
    assert len(warned) == 1 and reason.value in warned[0].getMessage()

    # the journal holds it: a replay reports the same rejection and cancel
    replayed: list[Event] = []
    replay_events(node.engine.journal_path, node.engine.markets, replayed.append)
    (reported,) = [e for e in replayed if isinstance(e, FillRejected)]
    assert (reported.fill.maker_hash, reported.fill.taker_hash) == (ask.order_hash, bid.order_hash)
    assert reported.fill.cause == reason.value
    cancels = [e for e in replayed if isinstance(e, Cancelled)]
    assert all((c.seq, c.reason) == (reported.seq, CancelReason.FILL_REJECTED) for c in cancels)
    assert len(cancels) == (1 if maker_at_fault else 0)  # the taker's 0.01 matched whole


async def close_the_nonce(node: Node, taker: Client, bid: PlacedOrder) -> None:
    await taker.cancel_all_on_chain()
    await until(
        lambda: node.pm.ledger.nonces.is_closed(taker.address, bid.nonce),
        "the fold of the new floor",
    )


async def withdraw_the_margin(node: Node, taker: Client, bid: PlacedOrder) -> None:
    chain = await taker.chain()
    collateral = chain.account(taker.address).collateral
    await taker.request_withdrawal(from_collateral_units(Collateral(collateral)) - 1)
    web3 = connect(node.deployment.rpc_url)
    delay = bind(web3, node.deployment).exchange.functions.withdrawal_delay().call()
    web3.provider.make_request(RPCEndpoint("evm_increaseTime"), [delay])
    web3.provider.make_request(RPCEndpoint("evm_mine"), [])
    await taker.execute_withdrawal()


def test_a_fill_the_chain_refuses_is_reported_to_both_traders_and_ends_the_closed_order(
    deployment: Deployment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 11 item 3: the chain skipped a fill (FillRejected) and nobody was told; the
    rest of the maker's order stayed in the book to make more fills that never settle. The
    taker closed its own nonce, so only its order is at fault: the maker's rest stays."""
    asyncio.run(
        rejected_between_match_and_settlement(
            deployment,
            tmp_path,
            caplog,
            close_the_nonce,
            RejectReason.ORDER_CLOSED,
            maker_at_fault=False,
        )
    )


class OneFillBugBatcher(Batcher):
    """Fault injection (the real batcher has no known bug of this kind): the node's batcher
    with a bug on one order's fills, so every ``settle`` carrying one raises before
    anything is sent, round after round, as an encoding error would."""

    def __init__(self, node: Node, poisoned: OrderHash) -> None:
        web3 = connect(node.deployment.rpc_url)
        operator = node.deployment.wallet(Role.OPERATOR).account()
        exchange = bind(web3, node.deployment).exchange
        super().__init__(web3, exchange, operator, from_block=node.deployment.start_block)
        self._poisoned = poisoned

    def settle(self, matches: Sequence[Match]) -> SettlementReport:
        if any(self._poisoned in fill_key(match) for match in matches):
            raise TypeError("a bug on this fill")
        return super().settle(matches)


async def fail_every_round_on_the_fill(node: Node, taker: Client, bid: PlacedOrder) -> None:
    runner = node.runner
    runner._make_batcher = lambda: OneFillBugBatcher(node, bid.order_hash)
    runner._batcher = None
    for _ in range(ISOLATE_AFTER_ROUNDS):
        assert await runner.settle_once() is None  # the next round settles it alone


def test_a_fill_that_fails_settlement_every_round_is_rejected_and_reported_to_both_traders(
    deployment: Deployment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fill on which settlement fails every round without a revert would stall
    settlement for everyone: the runner rejects it (FAILS_ALONE) once it fails alone while
    the node answers, and the rejection reaches both traders like the chain's."""
    asyncio.run(
        rejected_between_match_and_settlement(
            deployment,
            tmp_path,
            caplog,
            fail_every_round_on_the_fill,
            RejectReason.FAILS_ALONE,
            maker_at_fault=True,
        )
    )


def test_a_fill_dropped_for_a_failed_margin_check_is_reported_to_both_traders(
    anvil: Anvil, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The batcher's drop (the taker withdrew its margin before settlement) is reported the
    same way as the contract's skip. On a deployment of its own: it drains the taker."""
    deployment = fresh_deployment(anvil.rpc_url)
    asyncio.run(
        rejected_between_match_and_settlement(
            deployment,
            tmp_path,
            caplog,
            withdraw_the_margin,
            RejectReason.MARGIN_CHECK_FAILED,
            maker_at_fault=False,
        )
    )
