"""Stop-loss and take-profit on a real anvil through the real node, gateway and SDK (issue
12): a long's attached stop-loss waits off the book while the oracle is above it, even just
above it; when the oracle (the keeper's feed) falls through it the node feeds the price to
the engine, which releases the stop; it fills against a resting bid, the fill settles on
chain, the position is closed and the node cancels the attached take-profit. A replay of
the journal releases the same orders with the same events."""

from __future__ import annotations

import asyncio
import contextlib
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.node_testing import (
    feeds_to_admin,
    maker_and_trader,
    running,
    settled,
    settling_by_hand,
    sizes,
    until,
)

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.chain.transact import connect, send
from perpdex.cli.main import main
from perpdex.cli.up import fresh_deployment
from perpdex.core.types import MarginMode, MarketId, TimeInForce
from perpdex.core.units import to_price_units, to_size_units
from perpdex.engine.errors import CancelReason
from perpdex.engine.events import Cancelled, Event, Filled, Triggered
from perpdex.engine.events import FillRejected as FillRejectedEvent
from perpdex.engine.matching import MatchingEngine
from perpdex.gateway.protocol import hex0x
from perpdex.sdk.values import FillRejected, OrderUpdate
from perpdex.services.engine import replay_events
from perpdex.services.node import Node
from perpdex.settlement.outcomes import FillOutcome, Rejected, RejectReason, Settled

BTC = "BTC-PERP"
SIZE = "0.01"
TINY = "0.001"


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    deployment = fresh_deployment(anvil.rpc_url)
    feeds_to_admin(deployment)  # the scenarios move the oracle price
    return deployment


class Tape:
    """The node's engine events and settlement outcomes, as they happen."""

    def __init__(self, node: Node) -> None:
        self.events: list[Event] = []
        self.outcomes: list[FillOutcome] = []
        node.engine.bus.subscribe(self.events.append)
        node.runner.subscribe(self.outcomes.append)

    def of(self, kind: type) -> list[Event]:
        return [event for event in self.events if isinstance(event, kind)]


def btc_book(node: Node) -> MatchingEngine:
    return node.engine.sequencer.engine.markets[MarketId(0)]


async def oracle_at(deployment: Deployment, fraction: Decimal) -> None:
    """The feeds' owner posts BTC's oracle answer at ``fraction`` of the deployment's index."""
    btc = deployment.markets[0]
    web3 = connect(deployment.rpc_url)
    oracle = bind(web3, deployment).oracles[btc.symbol]
    answer = int(btc.oracle_answer * fraction)
    admin = deployment.wallet(Role.ADMIN).account()
    await asyncio.to_thread(send, web3, admin, oracle.functions.set_answer(answer))


def test_a_stop_loss_fires_when_the_oracle_falls_through_it_and_settles(
    deployment: Deployment, tmp_path: Path
) -> None:
    asyncio.run(_stop_loss_scenario(deployment, tmp_path))


async def _stop_loss_scenario(deployment: Deployment, tmp_path: Path) -> None:
    trader_address = deployment.wallet(Role.TRADER).address
    async with running(deployment, tmp_path / "state") as node:
        tape = Tape(node)
        async with maker_and_trader(node, tmp_path) as (maker, trader):
            stream = await trader.account()
            # the trader goes long 0.01 at the index
            await maker.place(BTC, "sell", SIZE, "100000")
            await trader.place(BTC, "buy", SIZE, "100000", time_in_force=TimeInForce.IOC)
            await settled(node)
            assert (await sizes(trader))[BTC] > 0

            stop, take = await trader.set_tpsl(BTC, stop_loss="97000", take_profit="105000")
            book = btc_book(node)
            held = {order.order_id for order in book.held_of(trader_address)}
            assert held == {stop.order_id, take.order_id}
            assert book.orders_of(trader_address) == []  # neither is on the book
            assert book.best_ask() is None  # nothing to see in the depth

            await maker.place(BTC, "buy", SIZE, "96000")  # the bid the stop will hit
            # the oracle falls, but not to the stop: nothing is released, however often
            await oracle_at(deployment, Decimal("0.98"))
            just_above = to_price_units("98000")
            await until(lambda: book.index == just_above, "the index fed to the engine")
            await asyncio.sleep(0.3)  # a few more syncs at that price
            assert tape.of(Triggered) == []
            assert len(book.held_of(trader_address)) == 2

            # ... then through it: the stop is released, fills and settles
            await oracle_at(deployment, Decimal("0.965"))
            await until(lambda: bool(tape.of(Triggered)), "the stop's release")
            await until(lambda: any(isinstance(o, Settled) for o in tape.outcomes[1:]), "settle")
            await settled(node)
            assert BTC not in await sizes(trader)  # closed on chain
            assert not [o for o in tape.outcomes if isinstance(o, Rejected)]
            (released,) = tape.of(Triggered)
            assert isinstance(released, Triggered)
            assert released.order_id == stop.order_id
            assert released.index_price == to_price_units("96500")
            closing = [e for e in tape.of(Filled) if e.taker_order_id == stop.order_id]
            assert [(e.price, e.size) for e in closing if isinstance(e, Filled)] == [
                (to_price_units("96000"), to_size_units(SIZE))
            ]
            # the take-profit went with the position
            await until(lambda: not book.held_of(trader_address), "the take-profit's cancel")
            (cancel,) = [e for e in tape.of(Cancelled) if e.order_id == take.order_id]
            assert isinstance(cancel, Cancelled)
            assert cancel.reason is CancelReason.POSITION_CLOSED

            # the trader saw it all on its account stream
            updates: list[tuple[str, str, str | None]] = []
            async with asyncio.timeout(10):
                async for event in stream:
                    if isinstance(event, OrderUpdate):
                        updates.append((event.order_hash, event.status, event.reason))
                    if len(updates) == 4:
                        break
            assert updates == [
                (hex0x(stop.order_hash), "untriggered", None),
                (hex0x(take.order_hash), "untriggered", None),
                (hex0x(stop.order_hash), "triggered", None),
                (hex0x(take.order_hash), "cancelled", "position_closed"),
            ]

        # the journal replays to the same releases, fills and cancels
        node.engine.sequencer.flush()
        replayed: list[Event] = []
        replay_events(node.engine.journal_path, node.engine.markets, replayed.append)
        kinds = (Triggered, Filled, Cancelled)
        assert [e for e in replayed if isinstance(e, kinds)] == [
            e for e in tape.events if isinstance(e, kinds)
        ]


@dataclass(frozen=True)
class ClosedOnChain:
    """How the chain closes the trader's long after the oracle falls to ``drop``."""

    drop: Decimal
    event: str
    counterparty_closed: bool
    """Whether the maker's short goes too (deleveraging closes it against the long)."""


LIQUIDATED = ClosedOnChain(Decimal("0.96"), "Liquidated", counterparty_closed=False)
"""96,000: below the long's maintenance (3%), its equity still above zero: the keeper
closes it whole (under the minimum partial notional)."""
DELEVERAGED = ClosedOnChain(Decimal("0.8"), "Deleveraged", counterparty_closed=True)
"""80,000: the long's deficit about 15 USDC, more than the new deployment's insurance
fund holds: the keeper closes it against the maker's short, which goes flat too."""


@pytest.mark.parametrize("case", [LIQUIDATED, DELEVERAGED], ids=["liquidated", "deleveraged"])
def test_a_position_closed_on_chain_takes_its_attached_orders(
    deployment: Deployment, tmp_path: Path, case: ClosedOnChain
) -> None:
    """An isolated long and the maker's short, each with a stop-loss and a take-profit all
    far from the oracle; the oracle drops and the node's keeper closes the long on chain
    (a liquidation, or a deleveraging against the short). The node follows the chain's fold
    and cancels the attached orders of each position closed (``position_closed``,
    journaled, sent to the trader) without any of them firing; those of a position still
    open stay held."""
    asyncio.run(_closed_on_chain_scenario(deployment, tmp_path, case))


async def _closed_on_chain_scenario(
    deployment: Deployment, tmp_path: Path, case: ClosedOnChain
) -> None:
    trader_address = deployment.wallet(Role.TRADER).address
    maker_address = deployment.wallet(Role.MAKER).address
    async with running(deployment, tmp_path / "state") as node:
        tape = Tape(node)
        async with maker_and_trader(node, tmp_path) as (maker, trader):
            stream = await trader.account()
            # 0.001 BTC at 100,000 on 5.05 USDC of isolated margin: under the minimum
            # partial notional, so its liquidation closes it whole
            await maker.place(BTC, "sell", TINY, "100000")
            await trader.place(
                BTC, "buy", TINY, "100000",
                time_in_force=TimeInForce.IOC, margin_mode=MarginMode.ISOLATED,
            )  # fmt: skip
            await settled(node)
            long = await trader.set_tpsl(BTC, stop_loss="75000", take_profit="110000")
            short = await maker.set_tpsl(BTC, stop_loss="110000", take_profit="70000")
            book = btc_book(node)
            assert {o.order_id for o in book.held_of(trader_address)} == {o.order_id for o in long}

            await oracle_at(deployment, case.drop)
            await until(lambda: not book.held_of(trader_address), "the attached orders' cancel")
            await settled(node)
            assert BTC not in await sizes(trader)
            (closed,) = closings(deployment, case.event, trader_address)
            keeper = deployment.wallet(Role.KEEPER).address
            if case is LIQUIDATED:
                assert (closed["full"], closed["liquidator"]) == (True, keeper)
            else:
                assert closed["counterparty"] == maker_address
            assert tape.of(Triggered) == []  # none fired: they went with their positions
            gone = long + short if case.counterparty_closed else long
            cancels = {e.order_id: e.reason for e in tape.of(Cancelled) if isinstance(e, Cancelled)}
            assert cancels == {o.order_id: CancelReason.POSITION_CLOSED for o in gone}
            held = {o.order_id for o in book.held_of(maker_address)}
            assert held == (set() if case.counterparty_closed else {o.order_id for o in short})

            updates: set[tuple[str, str, str | None]] = set()
            async with asyncio.timeout(10):
                async for event in stream:
                    if isinstance(event, OrderUpdate) and event.status == "cancelled":
                        updates.add((event.order_hash, event.status, event.reason))
                    if len(updates) == 2:
                        break
            assert updates == {(hex0x(o.order_hash), "cancelled", "position_closed") for o in long}

        node.engine.sequencer.flush()
        replayed: list[Event] = []
        replay_events(node.engine.journal_path, node.engine.markets, replayed.append)
        kinds = (Triggered, Filled, Cancelled)
        assert [e for e in replayed if isinstance(e, kinds)] == [
            e for e in tape.events if isinstance(e, kinds)
        ]


def closings(deployment: Deployment, event: str, trader: str) -> list[dict[str, object]]:
    """The ``event`` logs (``Liquidated``, ``Deleveraged``) of ``trader``'s positions."""
    exchange = bind(connect(deployment.rpc_url), deployment).exchange
    logs = exchange.events[event]().get_logs(
        from_block=deployment.start_block, argument_filters={"trader": trader}
    )
    return [dict(log["args"]) for log in logs]


def test_tpsl_and_close_from_the_cli(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``perpdex order`` opens a long; ``perpdex tpsl`` attaches both to it (and refuses to
    attach neither), and again replaces the stop-loss alone;
    ``perpdex close`` closes it at market in one call, and with the position both attached
    orders go (``position_closed``)."""
    monkeypatch.setenv("PERPDEX_STATE_DIR", str(tmp_path))  # the CLI's nonce file = the SDK's
    asyncio.run(_cli_scenario(deployment, tmp_path))


async def _cli_scenario(deployment: Deployment, tmp_path: Path) -> None:
    file = write_deployment(deployment, tmp_path / "deployment.json")
    trader_address = deployment.wallet(Role.TRADER).address
    async with running(deployment, tmp_path / "state") as node:
        tape = Tape(node)
        async with maker_and_trader(node, tmp_path) as (maker, trader):
            await maker.place(BTC, "sell", SIZE, "100000")
            options = ("--wallet", "trader", "--deployment", str(file))
            options += ("--gateway", node.gateway.url)
            code, out = await cli("order", "buy", SIZE, BTC, "--price", "100000", "--tif", "ioc",
                                  *options)  # fmt: skip
            assert code == 0, out
            assert "placed buy 0.01 BTC-PERP @ 100000 IOC" in out
            await settled(node)
            code, out = await cli("tpsl", BTC, *options)  # refused before connecting
            assert (code, out.strip()) == (1, "error: give --stop-loss, --take-profit or both")
            code, out = await cli("tpsl", BTC, "--stop-loss", "97000", "--take-profit",
                                  "105000", *options)  # fmt: skip
            assert code == 0, out
            assert "held until the index is at or below 97000" in out
            assert "held until the index is at or above 105000" in out
            book = btc_book(node)
            first = {order.order_id for order in book.held_of(trader_address)}
            assert len(first) == 2
            # setting them again replaces them (the new ones placed, then the old cancelled)
            code, out = await cli("tpsl", BTC, "--stop-loss", "96000", *options)
            assert code == 0, out
            attached = {order.order_id for order in book.held_of(trader_address)}
            assert len(attached) == 2 and len(attached & first) == 1  # the take-profit stays
            (stop,) = [o for o in book.held_of(trader_address) if o.order_id not in first]
            assert stop.trigger_price == to_price_units("96000")

            await maker.place(BTC, "buy", SIZE, "99900")
            code, out = await cli("close", BTC, *options)
            assert code == 0, out
            assert "placed sell 0.01 BTC-PERP @ 99500 IOC" in out  # 0.5% under the mark
            await settled(node)
            assert BTC not in await sizes(trader)
            await until(lambda: not book.held_of(trader_address), "the attached orders' cancel")
            reasons = {e.order_id: e.reason for e in tape.of(Cancelled) if isinstance(e, Cancelled)}
            assert {reasons[order_id] for order_id in attached} == {CancelReason.POSITION_CLOSED}
            code, out = await cli("close", BTC, *options)
            assert (code, out.strip()) == (0, f"no position in {BTC}")


async def cli(*argv: str) -> tuple[int, str]:
    """``perpdex argv`` in a worker thread (it runs its own event loop): the exit code and
    what it printed."""
    out = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            return main(list(argv))

    return await asyncio.to_thread(run), out.getvalue()


def test_a_stop_the_oracle_untriggers_before_settlement_leaves_the_makers_bid_resting(
    deployment: Deployment, tmp_path: Path
) -> None:
    """The griefing the fault rule stops: a stop released at 96,500 fills 0.01 of the
    maker's 0.03 bid, then the oracle goes back above the stop before the batch lands; the
    chain refuses the fill (``TRIGGER_NOT_REACHED``). Both traders are told, and the
    maker's bid keeps its 0.02 on the book: the stop was at fault, not the bid."""
    asyncio.run(_untriggered_scenario(deployment, tmp_path))


async def _untriggered_scenario(deployment: Deployment, tmp_path: Path) -> None:
    trader_address = deployment.wallet(Role.TRADER).address
    async with settling_by_hand(deployment, tmp_path / "state") as node:
        tape = Tape(node)
        async with maker_and_trader(node, tmp_path) as (maker, trader):
            await maker.place(BTC, "sell", SIZE, "100000")
            await trader.place(BTC, "buy", SIZE, "100000", time_in_force=TimeInForce.IOC)
            await until(lambda: len(node.runner.unsettled()) == 1, "the opening match")
            await node.runner.settle_once()
            await settled(node)
            (stop,) = await trader.set_tpsl(BTC, stop_loss="97000")
            maker_stream, trader_stream = await maker.account(), await trader.account()
            bid = await maker.place(BTC, "buy", "0.03", "96000")

            await oracle_at(deployment, Decimal("0.965"))
            await until(lambda: bool(tape.of(Triggered)), "the stop's release")
            await until(lambda: len(node.runner.unsettled()) == 1, "the stop's match")
            await oracle_at(deployment, Decimal("1"))  # back above the stop
            report = await node.runner.settle_once()
            assert report is not None
            assert [r.reason for r in report.rejected] == [RejectReason.TRIGGER_NOT_REACHED]

            for stream, placed in ((maker_stream, bid), (trader_stream, stop)):
                async with asyncio.timeout(10):
                    async for event in stream:
                        if isinstance(event, FillRejected):
                            break
                assert event.order_hash == hex0x(placed.order_hash)
                assert event.reason == RejectReason.TRIGGER_NOT_REACHED.value
            book = btc_book(node)
            (rest,) = book.orders_of(maker.address)
            assert rest.remaining == to_size_units("0.02")  # the bid keeps its rest
            assert not book.orders_of(trader_address) and not book.held_of(trader_address)
            assert not [e for e in tape.of(Cancelled) if e.order_id == bid.order_id]

        # journaled: a replay reports the refusal and cancels nothing of the bid
        node.engine.sequencer.flush()
        replayed: list[Event] = []
        replay_events(node.engine.journal_path, node.engine.markets, replayed.append)
        kinds = (FillRejectedEvent, Cancelled)
        assert [e for e in replayed if isinstance(e, kinds)] == [
            e for e in tape.events if isinstance(e, kinds)
        ]
        assert [e for e in replayed if isinstance(e, FillRejectedEvent)]
