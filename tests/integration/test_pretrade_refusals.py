"""Orders the contract would refuse at settlement are refused by the gateway before the
engine sees them: the whole node of `perpdex up` on a real anvil, traders through the SDK.
Each refusal is a typed error, nothing reaches the book, and every fill that does match
settles (no ``Rejected`` outcome)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from tests.integration.node_testing import (
    client,
    feeds_to_admin,
    maker_and_trader,
    running,
    settled,
    sizes,
    until,
)

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.param_changes import advance_to, restamp_feeds
from perpdex.chain.transact import connect, send
from perpdex.cli.up import fresh_deployment
from perpdex.core.margin import notional
from perpdex.core.types import MarginMode, MarketId, Price, Size, TimeInForce
from perpdex.core.units import from_price_units, from_size_units
from perpdex.engine.errors import CancelReason
from perpdex.engine.events import Cancelled, Event, Filled, Triggered
from perpdex.engine.matching import MatchingEngine
from perpdex.sdk.gateway_errors import ExpiredError, FeeCapTooLowError, MarginModeConflictError
from perpdex.services.node import Node
from perpdex.settlement.outcomes import FillOutcome, Rejected

BTC = "BTC-PERP"


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    """A deployment per test: a node's journal and checkpoints belong to one deployment."""
    return fresh_deployment(anvil.rpc_url)


class Tape:
    """The node's engine fills and settlement outcomes."""

    def __init__(self, node: Node) -> None:
        self.fills: list[Filled] = []
        self.cancelled: list[Cancelled] = []
        self.triggered: list[Triggered] = []
        self.rejected: list[Rejected] = []
        node.engine.bus.subscribe(self._on_event)
        node.runner.subscribe(self._on_outcome)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Filled):
            self.fills.append(event)
        elif isinstance(event, Cancelled):
            self.cancelled.append(event)
        elif isinstance(event, Triggered):
            self.triggered.append(event)

    def _on_outcome(self, outcome: FillOutcome) -> None:
        if isinstance(outcome, Rejected):
            self.rejected.append(outcome)


def btc_book(node: Node) -> MatchingEngine:
    return node.engine.sequencer.engine.markets[MarketId(0)]


def on_a_chain_of_its_own(
    scenario: Callable[[Deployment, Path], Awaitable[None]], tmp_path: Path
) -> None:
    """Run a scenario that moves the chain's clock on an anvil of its own (on the shared
    node it would expire the orders other test files sign). The mock feeds' owner becomes
    the admin before the node starts, so the scenario re-stamps prices after moving the
    clock without racing the node's keeper for the keeper key's nonce."""
    with Anvil() as node_rpc:
        deployment = fresh_deployment(node_rpc.rpc_url)
        feeds_to_admin(deployment)
        asyncio.run(scenario(deployment, tmp_path))


async def queue_maker_fee(deployment: Deployment, fee_ppm: int) -> None:
    """The admin queues BTC's maker fee at ``fee_ppm`` (it applies after PARAMS_DELAY)."""
    btc = deployment.markets[0]
    web3 = connect(deployment.rpc_url)
    admin = deployment.wallet(Role.ADMIN).account()
    queue = bind(web3, deployment).markets.functions.set_market_params(
        btc.id, btc.max_leverage, btc.initial_margin_ppm,
        btc.maintenance_margin_ppm, fee_ppm, btc.taker_fee_ppm,
    )  # fmt: skip
    await asyncio.to_thread(send, web3, admin, queue)


def test_order_with_fee_cap_below_market_fee_is_refused_before_matching(
    deployment: Deployment, tmp_path: Path
) -> None:
    btc = deployment.markets[0]
    maker_fee, taker_fee = btc.maker_fee_ppm, btc.taker_fee_ppm
    assert maker_fee < taker_fee

    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            tape = Tape(node)
            quote = node.pm.quotes[MarketId(0)]  # the fees settle() charges, read from chain
            assert (quote.maker_fee_ppm, quote.taker_fee_ppm) == (maker_fee, taker_fee)
            async with maker_and_trader(node, tmp_path) as (maker, trader):
                # a post-only order is only ever the maker: the maker fee is enough
                ask = await maker.place(
                    BTC, "sell", "0.05", "100000",
                    time_in_force=TimeInForce.POST_ONLY, max_fee_ppm=maker_fee,
                )  # fmt: skip
                price = btc_book(node).best_ask()
                # an IOC is only ever the taker; a GTC may be either, so it needs both fees
                for tif, cap in ((TimeInForce.IOC, taker_fee - 1), (TimeInForce.GTC, maker_fee)):
                    with pytest.raises(FeeCapTooLowError, match=f"{taker_fee} ppm"):
                        await trader.place(
                            BTC, "buy", "0.01", "100010", time_in_force=tif, max_fee_ppm=cap
                        )
                with pytest.raises(FeeCapTooLowError):
                    await maker.place(
                        BTC, "sell", "0.05", "100100",
                        time_in_force=TimeInForce.POST_ONLY, max_fee_ppm=maker_fee - 1,
                    )  # fmt: skip
                assert tape.fills == [] and btc_book(node).best_ask() == price  # nothing matched
                await trader.place(
                    BTC, "buy", "0.01", "100010",
                    time_in_force=TimeInForce.IOC, max_fee_ppm=taker_fee,
                )  # fmt: skip
                await settled(node)
                assert len(tape.fills) == 1 and tape.rejected == []
                assert tape.fills[0].maker_order_id == ask.order_id

    asyncio.run(scenario())


def test_order_in_the_other_margin_mode_than_the_position_is_refused_before_matching(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            tape = Tape(node)
            async with maker_and_trader(node, tmp_path) as (maker, trader):
                await maker.place(BTC, "sell", "0.05", "100000")
                # the maker's resting cross ask may fill first: an isolated order waits
                with pytest.raises(MarginModeConflictError, match="open cross orders"):
                    await maker.place(
                        BTC, "sell", "0.01", "100100", margin_mode=MarginMode.ISOLATED
                    )
                await trader.place(BTC, "buy", "0.01", "100010", time_in_force=TimeInForce.IOC)
                # the cross long may not be settled yet: the pending fill already decides
                with pytest.raises(MarginModeConflictError, match="is cross"):
                    await trader.place(
                        BTC, "buy", "0.01", "100010",
                        time_in_force=TimeInForce.IOC, margin_mode=MarginMode.ISOLATED,
                    )  # fmt: skip
                await settled(node)
                assert len(tape.fills) == 1 and tape.rejected == []
                assert await sizes(trader) == {BTC: Decimal("0.01")}

    asyncio.run(scenario())


def test_order_expiring_before_it_could_settle_is_refused(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            trader = client(node, Role.TRADER, tmp_path)
            async with trader:
                with pytest.raises(ExpiredError, match="too soon to settle"):
                    await trader.place(BTC, "buy", "0.01", "90000", ttl_s=5)
                assert btc_book(node).best_bid() is None

    asyncio.run(scenario())


def test_resting_order_whose_cap_a_raised_maker_fee_exceeds_leaves_the_book(
    tmp_path: Path,
) -> None:
    on_a_chain_of_its_own(_raised_fee_scenario, tmp_path)  # waits out PARAMS_DELAY


async def _raised_fee_scenario(deployment: Deployment, tmp_path: Path) -> None:
    btc = deployment.markets[0]
    raised = btc.maker_fee_ppm + 100
    ttl_s = 5 * 86_400  # beyond the delay the chain's clock skips
    async with running(deployment, tmp_path / "state") as node:
        tape = Tape(node)
        async with maker_and_trader(node, tmp_path) as (maker, trader):
            post_only = TimeInForce.POST_ONLY
            capped = await maker.place(
                BTC, "sell", "0.05", "100000", time_in_force=post_only,
                max_fee_ppm=btc.maker_fee_ppm, ttl_s=ttl_s,
            )  # fmt: skip
            covered = await maker.place(
                BTC, "sell", "0.05", "100100", time_in_force=post_only,
                max_fee_ppm=raised, ttl_s=ttl_s,
            )  # fmt: skip
            await queue_maker_fee(deployment, raised)
            web3 = connect(deployment.rpc_url)
            contracts = bind(web3, deployment)
            admin = deployment.wallet(Role.ADMIN).account()
            markets = contracts.markets
            effective_at = markets.functions.pending_at(btc.id).call()
            await asyncio.to_thread(advance_to, web3, effective_at)
            await asyncio.to_thread(restamp_feeds, web3, admin, contracts.oracles.values())
            # the node's keeper applies the due change (its params task)
            await until(
                lambda: markets.functions.pending_at(btc.id).call() == 0, "the keeper's apply"
            )
            await until(lambda: bool(tape.cancelled), "the capped order's cancel")
            [cancelled] = tape.cancelled
            assert (cancelled.order_id, cancelled.reason) == (
                capped.order_id,
                CancelReason.FEE_ABOVE_CAP,
            )
            # the covered order rests on and fills; nothing is rejected by the chain
            await trader.place(
                BTC, "buy", "0.05", "100100", time_in_force=TimeInForce.IOC, ttl_s=ttl_s
            )
            await settled(node)
            assert [f.maker_order_id for f in tape.fills] == [covered.order_id]
            assert tape.rejected == []


def test_order_that_would_rest_past_a_queued_fee_rise_it_does_not_cover_is_refused_and_cancelled(
    deployment: Deployment, tmp_path: Path
) -> None:
    btc = deployment.markets[0]
    raised = btc.maker_fee_ppm + 100
    days = 86_400

    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            tape = Tape(node)
            maker = client(node, Role.MAKER, tmp_path)
            async with maker:
                post_only = TimeInForce.POST_ONLY
                old_cap = btc.maker_fee_ppm
                long_lived = await maker.place(
                    BTC, "sell", "0.05", "100000", time_in_force=post_only,
                    max_fee_ppm=old_cap, ttl_s=3 * days,
                )  # fmt: skip
                await maker.place(
                    BTC, "sell", "0.05", "100100", time_in_force=post_only,
                    max_fee_ppm=old_cap, ttl_s=days,
                )  # fmt: skip
                await queue_maker_fee(deployment, raised)  # in effect in 2 days
                await until(lambda: bool(tape.cancelled), "the long-lived order's cancel")
                assert [(c.order_id, c.reason) for c in tape.cancelled] == [
                    (long_lived.order_id, CancelReason.FEE_ABOVE_CAP)
                ]
                with pytest.raises(FeeCapTooLowError, match="queued on chain"):
                    await maker.place(
                        BTC, "sell", "0.05", "100200", time_in_force=post_only,
                        max_fee_ppm=old_cap, ttl_s=3 * days,
                    )  # fmt: skip
                # gone before the change can apply: today's fee is enough
                await maker.place(
                    BTC, "sell", "0.05", "100200", time_in_force=post_only,
                    max_fee_ppm=old_cap, ttl_s=days,
                )  # fmt: skip
                assert len(tape.cancelled) == 1

    asyncio.run(scenario())


def test_resting_reduce_only_order_the_position_no_longer_covers_leaves_the_book(
    deployment: Deployment, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            tape = Tape(node)
            async with maker_and_trader(node, tmp_path) as (maker, trader):
                ioc = TimeInForce.IOC
                await maker.place(BTC, "sell", "0.05", "100000")
                await maker.place(BTC, "buy", "0.03", "99900")
                await trader.place(BTC, "buy", "0.05", "100000", time_in_force=ioc)
                # two take-profits that the 0.05 long covers
                kept = await trader.place(BTC, "sell", "0.02", "101000", reduce_only=True)
                cut = await trader.place(BTC, "sell", "0.03", "101100", reduce_only=True)
                assert not tape.cancelled
                # an ordinary sell shrinks the long to 0.02: only the older one still fits
                await trader.place(BTC, "sell", "0.03", "99900", time_in_force=ioc)
                assert [(c.order_id, c.reason) for c in tape.cancelled] == [
                    (cut.order_id, CancelReason.REDUCE_ONLY_EXCEEDS_POSITION)
                ]
                await maker.place(BTC, "buy", "0.05", "101100", time_in_force=ioc)
                await settled(node)
                assert [f.maker_order_id for f in tape.fills][-1] == kept.order_id
                assert tape.rejected == []
                assert await sizes(trader) == {}  # closed by the take-profit that fit

    asyncio.run(scenario())


def test_order_already_expired_on_a_chain_clock_ahead_of_the_node_is_refused_not_matched(
    tmp_path: Path,
) -> None:
    on_a_chain_of_its_own(_chain_clock_ahead_scenario, tmp_path)  # two hours ahead


async def _chain_clock_ahead_scenario(deployment: Deployment, tmp_path: Path) -> None:
    ahead_s = 2 * 3_600
    async with running(deployment, tmp_path / "state") as node:
        tape = Tape(node)
        maker = client(node, Role.MAKER, tmp_path)
        trader = client(node, Role.TRADER, tmp_path)
        async with maker, trader:
            # rests while the clocks agree; expires an hour from now on the wall clock
            stale = await maker.place(BTC, "sell", "0.05", "100000", ttl_s=3_600)
            web3 = connect(deployment.rpc_url)
            now = int(web3.eth.get_block("latest")["timestamp"])
            await asyncio.to_thread(advance_to, web3, now + ahead_s)
            feeds = bind(web3, deployment).oracles.values()
            admin = deployment.wallet(Role.ADMIN).account()
            await asyncio.to_thread(restamp_feeds, web3, admin, feeds)  # prices stay fresh
            restamped = web3.eth.block_number
            await until(
                lambda: node.pm.through >= restamped and node.pm.quotes[MarketId(0)].fresh,
                "the restamped price",
            )
            assert node.pm.chain_ahead() > (ahead_s - 60) * 1000
            # the chain is past the resting order's expiry: it leaves the book unmatched
            await until(lambda: bool(tape.cancelled), "the stale order's cancel")
            assert [(c.order_id, c.reason) for c in tape.cancelled] == [
                (stale.order_id, CancelReason.EXPIRES_ON_CHAIN)
            ]
            assert btc_book(node).best_ask() is None
            # valid for another hour by the wall clock, expired an hour ago by the chain's
            with pytest.raises(ExpiredError, match="too soon to settle"):
                await maker.place(BTC, "sell", "0.05", "100000", ttl_s=3_600)
            with pytest.raises(ExpiredError):
                await trader.place(
                    BTC, "buy", "0.05", "100000", time_in_force=TimeInForce.IOC, ttl_s=3_600
                )
            assert btc_book(node).best_ask() is None and tape.fills == []
            # orders valid on the chain's clock still trade, and settle
            live = await maker.place(BTC, "sell", "0.05", "100000", ttl_s=3 * 3_600)
            await trader.place(
                BTC, "buy", "0.05", "100000", time_in_force=TimeInForce.IOC, ttl_s=3 * 3_600
            )
            await settled(node)
            assert [f.maker_order_id for f in tape.fills] == [live.order_id]
            assert tape.rejected == []


@pytest.mark.parametrize("held", [False, True], ids=["resting", "held-trigger"])
def test_resting_order_a_price_fall_leaves_short_of_margin_leaves_the_book_unfilled(
    tmp_path: Path, held: bool
) -> None:
    """The check at placement valued the account at that moment's price; a resting buy
    that a fall of the oracle leaves unbacked would fail the contract's end-of-batch margin
    check when it fills (``MarginCheckFailed``: the fill dropped after both traders saw
    it). The node cancels it when the position manager reads the new price; the older
    order that still fits stays, fills and settles. ``held``: the big buy is a trigger
    order (not reduce-only) that the same fall crosses: it is cancelled before the new
    index price could release it (never ``Triggered``)."""
    # its own chain: the fall would move the shared chain's price under other tests, and
    # the admin sets it without racing the node's keeper for the keeper key's nonce
    on_a_chain_of_its_own(partial(_price_fall_scenario, held=held), tmp_path)


async def _price_fall_scenario(deployment: Deployment, tmp_path: Path, held: bool) -> None:
    btc = deployment.markets[0]
    trader_address = deployment.wallet(Role.TRADER).address
    async with running(deployment, tmp_path / "state") as node:
        tape = Tape(node)
        async with maker_and_trader(node, tmp_path) as (maker, trader):
            account = node.pm.account(trader_address)
            assert account is not None
            # a buy at the index using ~90% of the collateral for margin and fee
            need_ppm = btc.initial_margin_ppm + btc.taker_fee_ppm
            per_lot = notional(btc.lot_size, btc.index_price) * need_ppm // 1_000_000
            big_lots = account.collateral * 9 // 10 // per_lot - 1
            price = from_price_units(btc.index_price)
            small = await trader.place(BTC, "buy", from_size_units(btc.lot_size), price)
            trigger = from_price_units(Price(btc.index_price * 95 // 100)) if held else None
            big = await trader.place(
                BTC, "buy", from_size_units(Size(big_lots * btc.lot_size)), price,
                trigger_price=trigger, trigger="below" if held else None,
            )  # fmt: skip
            await asyncio.sleep(0.3)  # a few syncs at the old price: both stay
            assert tape.cancelled == []
            # the oracle falls 5%: filling the big buy at the old price loses 5% at once
            web3 = connect(deployment.rpc_url)
            oracle = bind(web3, deployment).oracles[btc.symbol]
            fallen = btc.oracle_answer * 95 // 100
            admin = deployment.wallet(Role.ADMIN).account()
            await asyncio.to_thread(send, web3, admin, oracle.functions.set_answer(fallen))
            await until(lambda: bool(tape.cancelled), "the unbacked order's cancel")
            assert [(c.order_id, c.reason) for c in tape.cancelled] == [
                (big.order_id, CancelReason.MARGIN_UNCOVERED)
            ]
            assert tape.triggered == []
            await maker.place(
                BTC, "sell", from_size_units(btc.lot_size), price,
                time_in_force=TimeInForce.IOC,
            )  # fmt: skip
            await settled(node)
            assert [f.maker_order_id for f in tape.fills] == [small.order_id]
            assert tape.rejected == []
