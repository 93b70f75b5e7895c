"""The ccxt-style client against the node of `perpdex up` on a real anvil: every unified
method through the real gateway and contracts, the async client and the blocking one, and
perpdex's refusals as ccxt's error classes.

One node serves the module (in a loop of its own thread, as `perpdex up` runs beside a
bot); each test trades with wallets of its own, funded on chain, so no test sees another's
orders or positions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from tests.integration.node_testing import feeds_to_admin, running, settled

from perpdex.ccxt import errors as ccxt
from perpdex.ccxt import perpdex as BlockingPerpdex
from perpdex.ccxt.async_support import perpdex
from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind, fund
from perpdex.chain.deployment import Role, write_deployment
from perpdex.chain.transact import connect, send
from perpdex.cli.up import fresh_deployment
from perpdex.core.units import to_collateral_units, to_price_units, units
from perpdex.loop_thread import LoopThread
from perpdex.services.node import Node

BTC = "BTC/USDC:USDC"
ETH = "ETH/USDC:USDC"
TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Venue:
    node: Node
    loop: LoopThread
    deployment_file: Path
    state_dir: Path

    def wallet(self, usdc: str = "100000") -> str:
        """A new wallet with gas and ``usdc`` deposited in the Exchange; its key."""
        account = Account.create()
        web3 = connect(self.node.deployment.rpc_url)
        web3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[arg-type]
        fund(web3, bind(web3, self.node.deployment), account, to_collateral_units(usdc))
        self.settled()  # the gateway's risk check has seen the deposit
        return str(account.key.to_0x_hex())

    def config(self, key: str) -> dict[str, Any]:
        return {
            "privateKey": key,
            "deployment": str(self.deployment_file),
            "options": {"stateDir": str(self.state_dir)},
        }

    def settled(self) -> None:
        self.loop.run(settled(self.node))


@pytest.fixture(scope="module")
def venue(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    state = tmp_path_factory.mktemp("ccxt")
    deployment = fresh_deployment(anvil.rpc_url)
    feeds_to_admin(deployment, "ETH-PERP")  # the trigger test moves ETH's price
    loop = LoopThread("perpdex up")
    up = running(deployment, state / "node")
    node = loop.run(up.__aenter__())
    try:
        served = replace(deployment, gateway_url=node.gateway.url, web_url=node.http.url)
        path = write_deployment(served, state / "deployment.json")
        yield Venue(node, loop, path, state / "nonces")
    finally:
        loop.run(up.__aexit__(None, None, None))
        loop.close()


def trading(
    venue: Venue, scenario: Callable[[perpdex, perpdex], Awaitable[None]], usdc: str = "100000"
) -> None:
    """Run ``scenario(maker, taker)`` with two new wallets' async clients."""

    async def run() -> None:
        async with (
            perpdex(venue.config(venue.wallet(usdc))) as maker,
            perpdex(venue.config(venue.wallet(usdc))) as taker,
        ):
            await maker.load_markets()
            await taker.load_markets()
            try:
                await scenario(maker, taker)
            finally:  # a failed test leaves no order for the next one to trade with
                await maker.cancel_all_orders()
                await taker.cancel_all_orders()

    asyncio.run(run())


async def eventually(read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        value = await read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last value {value!r}")
        await asyncio.sleep(0.1)


# ---------------------------------------------------------------- markets and market data


def test_load_markets(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        markets = await taker.load_markets()
        assert taker.symbols == [BTC, ETH]
        btc = markets[BTC]
        assert (btc["id"], btc["base"], btc["quote"], btc["settle"]) == (
            "BTC-PERP",
            "BTC",
            "USDC",
            "USDC",
        )
        assert btc["swap"] and btc["linear"] and btc["contract"] and not btc["spot"]
        assert btc["contractSize"] == 1.0
        assert btc["precision"] == {
            "amount": 0.0001,
            "price": 0.1,
            "cost": None,
            "base": None,
            "quote": None,
        }
        assert btc["limits"]["leverage"]["max"] == 20.0
        assert (btc["maker"], btc["taker"]) == (0.0002, 0.0005)
        assert taker.market("BTC-PERP") == btc
        assert taker.currencies["USDC"]["code"] == "USDC"
        assert taker.amount_to_precision(BTC, 0.012345) == "0.0123"
        assert taker.price_to_precision(BTC, 100000.06) == "100000.1"
        with pytest.raises(ccxt.BadSymbol):
            taker.market("DOGE/USDC:USDC")
        assert await taker.fetch_time() > 1_700_000_000_000

    trading(venue, scenario)


def test_fetch_order_book_and_ticker(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        await maker.create_order(ETH, "limit", "buy", 2, 2990)
        await maker.create_order(ETH, "limit", "buy", 1, 2991.5)
        await maker.create_order(ETH, "limit", "sell", 3, 3010)
        book = await taker.fetch_order_book(ETH)
        assert book["symbol"] == ETH
        assert book["bids"][:2] == [[2991.5, 1.0], [2990.0, 2.0]]
        assert book["asks"][0] == [3010.0, 3.0]
        assert len((await taker.fetch_order_book(ETH, limit=1))["bids"]) == 1

        ticker = await taker.fetch_ticker(ETH)
        assert (ticker["bid"], ticker["bidVolume"]) == (2991.5, 1.0)
        assert (ticker["ask"], ticker["askVolume"]) == (3010.0, 3.0)
        assert (ticker["markPrice"], ticker["indexPrice"]) == (3000.0, 3000.0)
        tickers = await taker.fetchTickers([ETH, BTC])  # ccxt's camelCase alias
        assert set(tickers) == {ETH, BTC}
        await maker.cancel_all_orders(ETH)

    trading(venue, scenario)


def test_fetch_trades_ohlcv_and_the_tickers_last(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        started = int(time.time() * 1000) - 60_000
        await maker.create_order(BTC, "limit", "sell", 0.01, 100000)
        await maker.create_order(BTC, "limit", "sell", 0.02, 100010)
        await taker.create_order(BTC, "market", "buy", 0.03)  # one command, two trades
        await maker.create_order(BTC, "limit", "buy", 0.01, 99000)
        await taker.create_order(BTC, "limit", "sell", 0.01, 99000)
        trades = (await taker.fetch_trades(BTC, since=started))[-3:]
        assert [(t["side"], t["price"], t["amount"]) for t in trades] == [
            ("buy", 100000.0, 0.01),
            ("buy", 100010.0, 0.02),
            ("sell", 99000.0, 0.01),
        ]
        assert len({t["id"] for t in trades}) == 3
        assert all(t["timestamp"] >= started for t in trades)
        assert trades == (await taker.fetch_trades(BTC, limit=3))  # the same ids again
        assert await taker.fetch_trades(BTC, since=int(time.time() * 1000) + 60_000) == []

        (*_, minute) = await taker.fetch_ohlcv(BTC, "1m", limit=1)
        assert minute[0] % 60_000 == 0 and minute[0] >= started - 60_000
        assert minute[4] == 99000.0  # the last trade closes it
        assert minute[2] >= 100010.0 and minute[3] <= 99000.0 and minute[5] >= 0.04
        with pytest.raises(ccxt.BadRequest):
            await taker.fetch_ohlcv(BTC, "2m")

        ticker = await taker.fetch_ticker(BTC)
        assert ticker["last"] == ticker["close"] == 99000.0
        assert ticker["high"] >= 100010.0 and ticker["baseVolume"] >= 0.04

    trading(venue, scenario)


def test_fetch_funding_rate_and_history(venue: Venue) -> None:
    """The node's keeper posts each market's funding once per interval (the first at
    start): the rate the chain logged, and when the next is due."""

    async def scenario(maker: perpdex, taker: perpdex) -> None:
        history = await eventually(
            lambda: taker.fetch_funding_rate_history(BTC), lambda rows: len(rows) > 0
        )
        assert {row["symbol"] for row in history} == {BTC}
        assert all(row["fundingRate"] == 0.0 for row in history)  # no book mid: no premium
        rate = await taker.fetch_funding_rate(BTC)
        assert (rate["fundingRate"], rate["fundingTimestamp"]) == (0.0, history[-1]["timestamp"])
        assert rate["nextFundingTimestamp"] > rate["fundingTimestamp"]
        assert rate["markPrice"] == 100000.0 and rate["interval"] is not None
        assert set(await taker.fetch_funding_rates()) == {BTC, ETH}
        assert await taker.fetch_funding_rate_history(BTC, since=rate["nextFundingTimestamp"]) == []
        with pytest.raises(ccxt.ArgumentsRequired):
            await taker.fetch_funding_rate_history()

    trading(venue, scenario)


# ---------------------------------------------------------------- orders


def test_limit_order_lifecycle(venue: Venue) -> None:
    """create_order, fetch_order, fetch_open_orders, edit_order, cancel_order,
    fetch_closed_orders and fetch_orders."""

    async def scenario(maker: perpdex, taker: perpdex) -> None:
        order = await maker.create_order(
            BTC, "limit", "sell", 0.01, 101000, {"postOnly": True, "clientOrderId": "ask-1"}
        )
        assert order["status"] == "open" and order["symbol"] == BTC
        assert (order["side"], order["type"], order["timeInForce"]) == ("sell", "limit", "PO")
        assert order["postOnly"] and order["clientOrderId"] == "ask-1"
        assert (order["price"], order["amount"], order["filled"], order["remaining"]) == (
            101000.0,
            0.01,
            0.0,
            0.01,
        )
        assert await maker.fetch_order(order["id"]) == order
        assert await maker.fetch_order("", None, {"clientOrderId": "ask-1"}) == order
        assert [o["id"] for o in await maker.fetch_open_orders(BTC)] == [order["id"]]
        assert await maker.fetch_open_orders(ETH) == []

        await asyncio.sleep(1.1)  # the amend keeps the signed expiry: a new second is needed
        edited = await maker.edit_order(order["id"], BTC, "limit", "sell", 0.02, 101500)
        assert edited["id"] != order["id"]
        assert (edited["price"], edited["amount"], edited["status"]) == (101500.0, 0.02, "open")
        # the history holds the amended order under its new id only
        assert [o["id"] for o in await maker.fetch_open_orders()] == [edited["id"]]
        await asyncio.sleep(1.1)
        by_client_id = await maker.edit_order(
            "", BTC, "limit", "sell", None, 101400, {"clientOrderId": "ask-1"}
        )
        assert (by_client_id["price"], by_client_id["clientOrderId"]) == (101400.0, "ask-1")

        cancelled = await maker.cancel_order("", BTC, {"clientOrderId": "ask-1"})
        assert cancelled["id"] == by_client_id["id"]
        assert cancelled["status"] == "canceled" and cancelled["remaining"] == 0.0
        assert await maker.fetch_open_orders() == []
        assert [o["id"] for o in await maker.fetch_closed_orders(BTC)] == [by_client_id["id"]]
        assert await maker.fetch_orders() == [cancelled]

        with pytest.raises(ccxt.OrderNotFound):
            await maker.cancel_order(by_client_id["id"])
        with pytest.raises(ccxt.OrderNotFound):
            await maker.fetch_order("0x" + "ab" * 32)
        with pytest.raises(ccxt.OrderNotFound):
            await maker.cancel_order("not-an-id")

    trading(venue, scenario)


def test_market_order_trades_positions_and_balance(venue: Venue) -> None:
    """create_order market, fetch_my_trades, fetch_positions, fetch_position, fetch_balance,
    and a reduce-only market order that closes the position."""

    async def scenario(maker: perpdex, taker: perpdex) -> None:
        before = await taker.fetch_balance()
        assert before["USDC"]["total"] == 100000.0 and before["USDC"]["used"] == 0.0

        ask = await maker.create_order(BTC, "limit", "sell", 0.05, 100000)
        bought = await taker.create_order(BTC, "market", "buy", 0.02)
        assert (bought["type"], bought["timeInForce"]) == ("market", "IOC")
        assert (bought["status"], bought["filled"]) == ("closed", 0.02)

        (mine,) = await taker.fetch_my_trades(BTC)
        assert (mine["order"], mine["side"], mine["takerOrMaker"]) == (bought["id"], "buy", "taker")
        assert (mine["price"], mine["amount"], mine["cost"]) == (100000.0, 0.02, 2000.0)
        assert mine["fee"] == {"currency": "USDC", "cost": 1.0, "rate": 0.0005}
        (theirs,) = await maker.fetch_my_trades()
        assert (theirs["order"], theirs["takerOrMaker"]) == (ask["id"], "maker")
        assert theirs["fee"]["cost"] == 0.4
        assert (await maker.fetch_order(ask["id"]))["filled"] == 0.02

        (position,) = await taker.fetch_positions()  # the gateway's view: no settling wait
        assert (position["symbol"], position["side"], position["contracts"]) == (BTC, "long", 0.02)
        assert position["entryPrice"] == 100000.0  # fees apart
        assert position["info"]["feesPaid"] == "1"
        assert (position["markPrice"], position["notional"]) == (100000.0, 2000.0)
        assert position["unrealizedPnl"] == 0.0
        assert position["marginMode"] == "cross" and position["initialMargin"] == 100.0
        assert position["leverage"] == 20.0  # the market's maximum: none chosen
        assert position["liquidationPrice"] is None  # 100,000 USDC back 0.02 BTC: no price
        assert 0 < position["marginRatio"] < 0.001
        assert await taker.fetch_position(ETH) is None
        venue.settled()
        balance = await taker.fetch_balance()
        assert balance["USDC"]["total"] == 99999.0  # the fee paid
        assert balance["USDC"]["used"] == 100.0  # 5% initial margin of 2000
        assert balance["free"]["USDC"] == 99899.0

        await maker.create_order(BTC, "limit", "buy", 0.05, 99990)
        closed = await taker.create_order(BTC, "market", "sell", 0.02, None, {"reduceOnly": True})
        assert closed["reduceOnly"] and closed["status"] == "closed"
        await maker.cancel_all_orders()
        assert await taker.fetch_positions() == []

    trading(venue, scenario)


def test_create_orders_and_cancel_all_orders(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        placed = await maker.create_orders(
            [
                {"symbol": ETH, "type": "limit", "side": "buy", "amount": 1, "price": 2900},
                {"symbol": ETH, "type": "limit", "side": "buy", "amount": 1, "price": 2901},
                {"symbol": BTC, "type": "limit", "side": "buy", "amount": 0.01, "price": 90000},
                {"symbol": BTC, "type": "limit", "side": "buy", "amount": 50, "price": 99900},
            ]
        )
        assert [o["status"] for o in placed] == ["open"] * 3 + ["rejected"]
        assert placed[3]["info"]["code"] == "insufficient_margin"  # the others stand
        placed = placed[:3]
        cancelled = await maker.cancel_all_orders(ETH)
        assert {o["id"] for o in cancelled} == {placed[0]["id"], placed[1]["id"]}
        assert {o["status"] for o in cancelled} == {"canceled"}
        assert [o["id"] for o in await maker.fetch_open_orders()] == [placed[2]["id"]]
        await maker.cancel_all_orders()
        assert await maker.fetch_open_orders() == []

    trading(venue, scenario)


def test_cancel_all_orders_after(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        await maker.create_order(ETH, "limit", "buy", 1, 2800)
        await maker.cancel_all_orders_after(500)
        await eventually(maker.fetch_open_orders, lambda orders: orders == [])
        await maker.create_order(ETH, "limit", "buy", 1, 2800)
        await maker.cancel_all_orders_after(0)  # disarmed: the order stays
        await asyncio.sleep(1.0)
        assert len(await maker.fetch_open_orders()) == 1

    trading(venue, scenario)


def test_set_margin_mode(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        await taker.set_margin_mode("isolated", ETH)
        await maker.set_margin_mode("isolated", ETH)  # then overridden by the order's param
        await maker.create_order(ETH, "limit", "sell", 1, 3000, {"marginMode": "cross"})
        await taker.create_order(ETH, "limit", "buy", 1, 3000)
        venue.settled()
        (position,) = await taker.fetch_positions([ETH])
        assert position["marginMode"] == "isolated" and position["isolated"]
        assert position["collateral"] is not None and position["collateral"] > 0
        assert 2800 < position["liquidationPrice"] < 3000  # the isolated margin backs it alone
        assert (await taker.fetch_margin_mode(ETH))["marginMode"] == "isolated"
        assert (await taker.fetch_margin_mode(BTC))["marginMode"] == "cross"
        # the held position's mode wins over the client's next-order mode, cross (0) too
        assert (await maker.fetch_margin_mode(ETH))["marginMode"] == "cross"
        with pytest.raises(ccxt.BadRequest):
            await taker.set_margin_mode("cross", ETH)
        with pytest.raises(ccxt.BadRequest):
            await taker.set_margin_mode("portfolio", ETH)
        with pytest.raises(ccxt.ArgumentsRequired):
            await taker.set_margin_mode("cross")
        balance = await taker.fetch_balance()
        assert balance["info"]["isolatedMargin"] > 0

        margin = position["collateral"]
        added = await taker.add_margin(ETH, 100)
        assert (added["type"], added["amount"], added["total"]) == ("add", 100.0, margin + 100)
        reduced = await taker.reduce_margin(ETH, 40.5)
        assert (reduced["type"], reduced["total"]) == ("reduce", margin + 59.5)
        (position,) = await eventually(
            lambda: taker.fetch_positions([ETH]),
            lambda found: found[0]["collateral"] == margin + 59.5,
        )
        with pytest.raises(ccxt.InsufficientFunds):  # below the position's initial margin
            await taker.reduce_margin(ETH, margin + 59.5)
        with pytest.raises(ccxt.BadRequest):  # no isolated position there
            await taker.add_margin(BTC, 10)

    trading(venue, scenario)


def test_set_and_fetch_leverage(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        default = await taker.fetch_leverage(BTC)
        assert (default["longLeverage"], default["info"]["chosen"]) == (20.0, False)
        capped = await taker.set_leverage(2, BTC)
        assert (capped["symbol"], capped["longLeverage"], capped["shortLeverage"]) == (
            BTC,
            2.0,
            2.0,
        )
        assert (await taker.fetch_leverage(BTC))["info"]["chosen"] is True
        with pytest.raises(ccxt.InsufficientFunds):  # 1 BTC at 2x needs 50,000 USDC
            await taker.create_order(BTC, "limit", "buy", 1, 99000)
        assert (await taker.create_order(ETH, "limit", "buy", 10, 2900))["status"] == "open"
        with pytest.raises(ccxt.BadRequest):
            await taker.set_leverage(21, BTC)
        with pytest.raises(ccxt.ArgumentsRequired):
            await taker.set_leverage(3)

    trading(venue, scenario, usdc="40000")


def test_withdraw(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        address = taker.walletAddress
        assert address is not None
        request = await taker.withdraw("USDC", 250.5, address)
        assert (request["type"], request["status"], request["amount"]) == (
            "withdrawal",
            "pending",
            250.5,
        )
        assert request["info"]["readyAt"] > time.time()
        with pytest.raises(ccxt.InvalidAddress):
            await taker.withdraw("USDC", 1, maker.walletAddress or "")
        with pytest.raises(ccxt.BadRequest):
            await taker.withdraw("ETH", 1, address)
        with pytest.raises(ccxt.ExchangeError):  # the delay has not passed: the contract reverts
            await taker.withdraw("USDC", 250.5, address, None, {"execute": True})

    trading(venue, scenario)


# ---------------------------------------------------------------- errors


def test_refusals_raise_ccxt_errors(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        with pytest.raises(ccxt.InsufficientFunds):  # 100 USDC cannot margin 1 BTC
            await taker.create_order(BTC, "limit", "buy", 1, 99000)
        with pytest.raises(ccxt.InvalidOrder):  # off the 0.1 tick
            await taker.create_order(BTC, "limit", "buy", 0.0001, 99000.05)
        with pytest.raises(ccxt.InvalidOrder):  # off the lot
            await taker.create_order(BTC, "limit", "buy", 0.00015, 99000)
        with pytest.raises(ccxt.InvalidOrder):
            await taker.create_order(BTC, "stop", "buy", 0.0001, 99000)
        with pytest.raises(ccxt.BadRequest):
            await taker.create_order(BTC, "limit", "buy", 0.0001, 99000, {"leverage": 5})
        with pytest.raises(ccxt.ArgumentsRequired):
            await taker.create_order(BTC, "limit", "buy", 0.0001)
        with pytest.raises(ccxt.BadSymbol):
            await taker.create_order("BTC/USDT:USDT", "limit", "buy", 0.0001, 99000)
        await maker.create_order(BTC, "limit", "sell", 0.0001, 100000)
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            await taker.create_order(BTC, "limit", "buy", 0.0001, 100000, {"postOnly": True})
        with pytest.raises(ccxt.InvalidOrder):  # one trigger per order
            await taker.create_order(
                BTC, "market", "sell", 0.0001, None, {"stopLossPrice": 9e4, "takeProfitPrice": 2e5}
            )
        assert await taker.fetch_open_orders() == []  # nothing refused reached the book
        await maker.cancel_all_orders()

    trading(venue, scenario, usdc="100")


def test_no_key_means_public_methods_only(venue: Venue) -> None:
    async def scenario() -> None:
        async with perpdex({"deployment": str(venue.deployment_file)}) as public:
            assert (await public.fetch_order_book(BTC))["symbol"] == BTC
            with pytest.raises(ccxt.AuthenticationError):
                await public.fetch_balance()
        with pytest.raises(ccxt.AuthenticationError):
            perpdex({"privateKey": "0x1234", "deployment": str(venue.deployment_file)})
        with pytest.raises(ccxt.BadRequest):
            perpdex({"privatekey": "0x12", "deployment": str(venue.deployment_file)})

    asyncio.run(scenario())


def test_what_perpdex_lacks_is_not_supported(venue: Venue) -> None:
    async def scenario(maker: perpdex, taker: perpdex) -> None:
        for capability, call in {}.items():
            assert taker.has[capability] is False
            with pytest.raises(ccxt.NotSupported):
                await call

    trading(venue, scenario)


# ---------------------------------------------------------------- the blocking client


def test_the_docs_example_runs(
    venue: Venue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/ccxt.md's example, as written, from a folder holding the deployment file."""
    doc = (Path(__file__).parents[2] / "docs" / "ccxt.md").read_text()
    example = doc.split("## Example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "local.json").write_bytes(venue.deployment_file.read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERPDEX_STATE_DIR", str(venue.state_dir))
    exec(compile(example, "docs/ccxt.md", "exec"), {})
    assert "refused: " in capsys.readouterr().out


def test_blocking_client_scenario(venue: Venue) -> None:
    """A bot without asyncio: the same calls, results instead of coroutines."""
    with (
        BlockingPerpdex(venue.config(venue.wallet())) as maker,
        BlockingPerpdex(venue.config(venue.wallet())) as taker,
    ):
        assert BTC in taker.load_markets()
        ask = maker.create_limit_sell_order(BTC, 0.01, 100000)  # ccxt's shorthands too
        assert maker.fetchOpenOrders(BTC)[0]["id"] == ask["id"]
        assert taker.fetch_order_book(BTC)["asks"] == [[100000.0, 0.01]]
        bought = taker.create_market_buy_order(BTC, 0.01)
        assert (bought["status"], bought["type"]) == ("closed", "market")
        assert maker.fetch_order(ask["id"])["status"] == "closed"
        assert taker.fetch_my_trades()[0]["amount"] == 0.01
        venue.settled()
        assert taker.fetch_positions()[0]["contracts"] == 0.01
        assert taker.fetch_balance()["USDC"]["used"] == 50.0
        with pytest.raises(ccxt.OrderNotFound):
            maker.cancel_order(ask["id"])
        taker.create_order(BTC, "limit", "buy", 0.01, 90000)
        assert len(taker.fetch_open_orders()) == 1
        taker.cancel_all_orders()
    with pytest.raises(ccxt.ExchangeClosedByUser):
        taker.fetch_balance()


# ---------------------------------------------------------------- triggers (ETH's oracle moves)


def eth_oracle_at(venue: Venue, price: str) -> None:
    """The admin posts ETH's oracle answer (the feed's owner since the venue started)."""
    deployment = venue.node.deployment
    eth = deployment.market("ETH-PERP")
    web3 = connect(deployment.rpc_url)
    oracle = bind(web3, deployment).oracles[eth.symbol]
    answer = to_price_units(price) * 10 ** (eth.oracle_decimals - units().price_decimals)
    send(web3, deployment.wallet(Role.ADMIN).account(), oracle.functions.set_answer(answer))


def test_stop_loss_take_profit_and_trigger_orders(venue: Venue) -> None:
    """A long's stop-loss and take-profit wait off the book; the oracle falls through the
    stop, which is released, fills and closes the position, and the take-profit goes with
    it. A plain trigger order's direction comes from the index price."""

    async def scenario(maker: perpdex, taker: perpdex) -> None:
        await maker.create_order(ETH, "limit", "sell", 1, 3000)
        await taker.create_order(ETH, "market", "buy", 1)
        stop = await taker.create_order(ETH, "market", "sell", 1, None, {"stopLossPrice": 2900})
        assert (stop["status"], stop["triggerPrice"], stop["stopLossPrice"]) == (
            "open",
            2900.0,
            2900.0,
        )
        assert stop["reduceOnly"] and stop["price"] == 2755.0  # 5% past the trigger
        take = await taker.create_order(ETH, "limit", "sell", 1, 3200, {"takeProfitPrice": 3200})
        assert (take["triggerPrice"], take["takeProfitPrice"]) == (3200.0, 3200.0)
        assert {o["id"] for o in await taker.fetch_open_orders(ETH)} == {stop["id"], take["id"]}
        assert (await taker.fetch_order_book(ETH))["asks"] == []  # neither is on the book

        entry = await taker.create_order(ETH, "limit", "buy", 1, 3100, {"triggerPrice": 3050})
        assert entry["triggerPrice"] == 3050.0 and entry["info"]["trigger_direction"] == 1
        await taker.cancel_order(entry["id"])

        await maker.create_order(ETH, "limit", "buy", 1, 2895)  # the bid the stop will hit
        try:
            await asyncio.to_thread(eth_oracle_at, venue, "2890")
            closed = await eventually(
                lambda: taker.fetch_order(stop["id"]), lambda o: o["status"] == "closed"
            )
            assert (closed["filled"], closed["average"]) == (1.0, 2895.0)
            await eventually(
                lambda: taker.fetch_order(take["id"]), lambda o: o["status"] == "canceled"
            )
            assert await taker.fetch_positions() == []
        finally:
            await asyncio.to_thread(eth_oracle_at, venue, "3000")

    trading(venue, scenario)
