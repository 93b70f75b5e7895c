"""Leverage caps, isolated margin moves and position figures on the node of `perpdex up`
on a real anvil, traders through the SDK and the CLI.

A cap refuses an order the market's maximum admits, whether placed whole, split (also in
one batch frame, and next to a held trigger order), or grown by an amend, and outlives a
restart; moving isolated margin changes the chain and a
refusal says how much could move; the liquidation price the gateway shows is where the
contract first says liquidatable; a plain reduce-only order closes an isolated position.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.node_testing import maker_and_trader, running, settled
from tests.integration.test_pretrade_refusals import on_a_chain_of_its_own

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role, write_deployment
from perpdex.chain.transact import connect, send
from perpdex.cli.main import main
from perpdex.cli.up import fresh_deployment
from perpdex.core.types import MarginMode, TimeInForce
from perpdex.core.units import to_price_units
from perpdex.sdk.client import Client, OrderSpec, PlacedOrder
from perpdex.sdk.gateway_errors import InsufficientMarginError, InvalidLeverageError
from perpdex.sdk.margin import IsolatedMarginTooLowError, NoIsolatedPositionError

BTC = "BTC-PERP"


@pytest.fixture
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


def test_a_leverage_cap_refuses_what_the_maximum_allows_and_survives_a_restart(
    deployment: Deployment, tmp_path: Path
) -> None:
    # the trader holds 1,000,000 USDC; bids at 100,000 rest (no asks): at 2x each
    # 9 BTC bid needs 450,000 + 450 fee, at the market's 20x a twentieth of that
    state = tmp_path / "state"

    async def before() -> str:
        async with (
            running(deployment, state) as node,
            maker_and_trader(node, tmp_path) as (_, trader),
        ):
            assert (await trader.leverage(BTC)).leverage == 20
            with pytest.raises(InvalidLeverageError, match="maximum of 20"):
                await trader.set_leverage(BTC, "25")
            setting = await trader.set_leverage(BTC, "2")
            assert (setting.leverage, setting.max_leverage, setting.chosen) == (2, 20, True)
            with pytest.raises(InsufficientMarginError, match="leverage caps"):
                await trader.place(BTC, "buy", "25", "100000")  # fits 20x, not 2x
            first = await trader.place(BTC, "buy", "9", "100000")
            await trader.place(BTC, "buy", "9", "100000")
            # splitting: the third 9 BTC is checked with the first two open
            with pytest.raises(InsufficientMarginError):
                await trader.place(BTC, "buy", "9", "100000")
            # an amend is checked as a new order with the others open
            with pytest.raises(InsufficientMarginError):
                await trader.amend(first.order_hash, size="15")
            # 99,100 is left: one 1.5 BTC bid (75,075) fits, two do not, even in one frame
            batch = await trader.place_many([OrderSpec(BTC, "buy", "1.5", "100000")] * 2)
            assert isinstance(batch[0], PlacedOrder)
            assert isinstance(batch[1], InsufficientMarginError), batch[1]
            await trader.cancel(batch[0].order_hash)
            # a trigger order that opens reserves its margin while held: the next is refused
            held = await trader.place(BTC, "buy", "1.5", "100000", trigger_price="100500",
                                      trigger="above")  # fmt: skip
            with pytest.raises(InsufficientMarginError, match="leverage caps"):
                await trader.place(BTC, "buy", "1.5", "100000")
            await trader.cancel(held.order_hash)
            # lowering the cap below what the open orders need changes nothing
            with pytest.raises(InsufficientMarginError, match="open orders"):
                await trader.set_leverage(BTC, "1.5")
            assert (await trader.leverage(BTC)).leverage == 2
            return "0x" + first.order_hash.hex()

    first = asyncio.run(before())

    async def after() -> None:
        async with (
            running(deployment, state) as node,
            maker_and_trader(node, tmp_path) as (_, trader),
        ):
            assert (await trader.leverage(BTC)).leverage == 2
            with pytest.raises(InsufficientMarginError, match="leverage caps"):
                await trader.place(BTC, "buy", "9", "100000")
            await trader.cancel(first)
            await trader.place(BTC, "buy", "9", "100000")  # room again

    asyncio.run(after())


def test_isolated_margin_moves_figures_and_a_plain_reduce_only_close(tmp_path: Path) -> None:
    on_a_chain_of_its_own(_isolated_scenario, tmp_path)  # moves the oracle price


async def _isolated_scenario(deployment: Deployment, tmp_path: Path) -> None:
    deployment_file = write_deployment(deployment, tmp_path / "deployment.json")
    state = tmp_path / "state"
    async with (
        running(deployment, state) as node,
        maker_and_trader(node, tmp_path) as (maker, trader),
    ):
        await maker.place(BTC, "sell", "0.1", "100000")
        await trader.place(
                BTC, "buy", "0.1", "100000",
                time_in_force=TimeInForce.IOC, margin_mode=MarginMode.ISOLATED,
            )  # fmt: skip
        await settled(node)
        # 0.1 BTC at 100,000: the contract moved 500 initial margin and the 5 fee
        (position,) = await trader.positions()
        assert (position.margin_mode, position.size) == (MarginMode.ISOLATED, Decimal("0.1"))
        assert (position.entry_price, position.fees_paid) == (100_000, 5)
        assert position.isolated_margin == 505

        assert await trader.add_margin(BTC, "100") == 605
        # equity 600 (605 less the fee the quote leg paid) against 500 initial
        with pytest.raises(IsolatedMarginTooLowError, match="at most 100 USDC"):
            await trader.remove_margin(BTC, "1000")
        with pytest.raises(NoIsolatedPositionError, match="no isolated position in ETH"):
            await trader.add_margin("ETH-PERP", "1")
        wallet = ("--wallet", "trader", "--deployment", str(deployment_file))
        removed = "5 USDC removed from the isolated BTC-PERP position: margin 600 USDC\n"
        assert await cli("margin", "remove", BTC, "5", *wallet) == (0, removed)
        chain = await trader.chain()
        btc = trader.markets.symbol(BTC)
        assert chain.position(trader.address, btc).isolated_margin == 600_000_000
        await settled(node)
        (position,) = await trader.positions()
        assert position.isolated_margin == 600 and position.liquidation_price is not None
        liquidation = position.liquidation_price
        gateway = ("--gateway", node.gateway.url)
        code, out = await cli("positions", *wallet, *gateway)
        row = next(line.split() for line in out.splitlines() if line.startswith(BTC))
        assert code == 0 and row[1:4] == ["long", "0.1", "100000"]
        assert row[-2:] == [f"{liquidation:f}", "20x"]
        code, out = await cli("leverage", BTC, "4", *wallet, *gateway)
        assert code == 0 and "4x" in out and (await trader.leverage(BTC)).leverage == 4

    # with the node (and its liquidating keeper) stopped, the contract's verdict
    await _liquidatable_exactly_at(deployment, trader, liquidation)

    async with (
        running(deployment, state) as node,
        maker_and_trader(node, tmp_path) as (maker, trader),
    ):
        # closing needs no --isolated: the SDK takes the position's mode
        await maker.place(BTC, "buy", "0.1", "100000")
        half = OrderSpec(
            BTC, "sell", "0.05", "99000", time_in_force=TimeInForce.IOC, reduce_only=True
        )
        (placed,) = await trader.place_many([half])  # a batch takes the mode too
        assert not isinstance(placed, Exception) and placed.size == Decimal("0.05")
        await trader.place(
            BTC, "sell", "0.05", "99000", time_in_force=TimeInForce.IOC, reduce_only=True
        )
        await settled(node)
        assert await trader.positions() == []
        assert chain.position(trader.address, btc).size == 0


async def cli(*argv: str) -> tuple[int, str]:
    """``perpdex argv`` in a worker thread (it runs its own event loop and blocking reads
    of the node served on this one): the exit code and what it printed."""
    out = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            return main(list(argv))

    code = await asyncio.to_thread(run)
    return code, out.getvalue()


async def _liquidatable_exactly_at(deployment: Deployment, trader: Client, price: Decimal) -> None:
    """The contract's isolated health of ``trader``'s BTC position is below maintenance at
    ``price`` and not one tick above, then the price goes back (the admin owns the feeds)."""
    web3 = connect(deployment.rpc_url)
    contracts = bind(web3, deployment)
    admin = deployment.wallet(Role.ADMIN).account()
    btc = deployment.market("BTC-PERP")
    feed = contracts.oracles[BTC].functions
    scale = 10 ** (feed.decimals().call() - 6)  # price units have 6 decimals
    _, original, _, _, _ = feed.latestRoundData().call()

    def health_at(units: int) -> tuple[int, int]:
        send(web3, admin, feed.set_answer(units * scale))
        equity, _, maintenance = contracts.exchange.functions.isolated_health(
            trader.address, btc.id
        ).call()
        return equity, maintenance

    at = to_price_units(price)
    try:
        equity, maintenance = await asyncio.to_thread(health_at, at)
        assert equity < maintenance
        equity, maintenance = await asyncio.to_thread(health_at, at + btc.tick_size)
        assert equity >= maintenance
    finally:
        await asyncio.to_thread(send, web3, admin, feed.set_answer(original))
