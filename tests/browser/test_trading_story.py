"""A trader's first session in the browser, against a real node on a private anvil (the
test moves the chain's clock past the withdrawal delay): pick a demo wallet, mint and
deposit test USDC, place limit orders (seen in the book and in open orders), get filled
by a bot (an SDK client), see the position with the SDK's size and liquidation price,
place a stop-loss (held off the book), cancel the other order, request a withdrawal, wait
out the delay, execute it, open an isolated position and add margin to it, download the
operator's receipts of its orders (checked against the chain and the node's journal, and
by `perpdex audit --receipts`); then the operator dashboard shows the settled batch.
Screenshots of each step: build/screenshots."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from playwright.async_api import Browser, Locator, Page, WebSocket, expect
from tests.browser.browser_testing import chromium, page_of, screenshot
from tests.integration.node_testing import client, running, settled

from perpdex.audit.audit import audit_deployment
from perpdex.audit.findings import Check
from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.transact import connect
from perpdex.cli.up import fresh_deployment
from perpdex.core.types import EMBEDDED_SHARD, Address, TimeInForce
from perpdex.engine.codec import HEADER
from perpdex.engine.file_journal import read_file
from perpdex.receipts import ReceiptStore, receipt_domain, verify_receipt
from perpdex.sdk.client import Client
from perpdex.services.node import Node

DEMO_WALLET = 5
"""A dev account the deployment does not use: it starts without collateral."""


def test_a_trader_deposits_trades_cancels_and_withdraws_in_the_browser(tmp_path: Path) -> None:
    async def scenario() -> None:
        with Anvil() as anvil:
            deploying = asyncio.create_task(asyncio.to_thread(fresh_deployment, anvil.rpc_url))
            async with chromium() as browser:  # starts while the contracts deploy
                deployment = await deploying
                key = anvil.accounts[DEMO_WALLET].private_key
                async with running(deployment, tmp_path / "state") as node:
                    acks: list[tuple[str, int]] = []
                    async with page_of(browser, node.http.url, watch_acks(acks)) as page:
                        await deposit(page)
                        await place_orders(page)
                        await filled_by_a_bot(page, node, key, tmp_path)
                        await place_stop_loss(page)
                        await cancel(page)
                        await withdraw(page, deployment)
                        await isolated_margin(page, node, tmp_path)
                        await download_receipts(page, acks, node, tmp_path)
                    await dashboard_shows_the_batch(browser, node)

    asyncio.run(scenario())


async def deposit(page: Page) -> None:
    options = await page.get_by_test_id("demo-wallet").locator("option").all_inner_texts()
    (label,) = [o for o in options if o.startswith(f"dev account {DEMO_WALLET} ")]
    await page.get_by_test_id("demo-wallet").select_option(label=label)
    await expect(page.get_by_test_id("wallet-address")).not_to_be_empty()
    await expect(page.get_by_text("local-only demo key")).to_be_visible()
    await transfer(page, "faucet", "minted 10000 test USDC")
    await transfer(page, "deposit", "deposited 1000 USDC", ("deposit-amount", "1000"))
    await expect(page.get_by_test_id("collateral")).to_have_text("1000")  # the node saw it
    await screenshot(page, "1-deposited")


async def place_orders(page: Page) -> None:
    await place(page, "buy", "99990", "0.02")
    await place(page, "buy", "99000", "0.01")
    bids = page.locator("#bids")
    await expect(bids.locator("tr[data-price='99990'] td").nth(1)).to_have_text("0.02")
    await expect(bids.locator("tr[data-price='99000']")).to_be_visible()
    await page.get_by_role("button", name="Open orders").click()
    await expect(open_orders(page).locator("td.price")).to_have_text(["99990", "99000"])
    await screenshot(page, "2-orders-placed")


async def filled_by_a_bot(page: Page, node: Node, key: str, tmp_path: Path) -> None:
    async with client(node, Role.MAKER, tmp_path / "bot") as bot:
        await bot.place("BTC-PERP", "sell", "0.02", "99990", time_in_force=TimeInForce.IOC)
    await page.get_by_role("button", name="Positions").click()
    position = page.get_by_test_id("positions").locator("tr[data-market=BTC-PERP]")
    await expect(position.locator("td.size")).to_have_text("0.02")
    await expect(open_orders(page)).to_have_count(1)
    await settled(node)
    async with Client.connect(
        node.gateway.url, key, node.deployment, state_dir=tmp_path / "sdk"
    ) as sdk:
        (expected,) = await sdk.positions()
    assert expected.size == Decimal("0.02")
    assert expected.liquidation_price is not None  # 1000 USDC carry 0.02 BTC down to about 51,560
    await expect(position.locator("td.liquidation")).to_have_text(str(expected.liquidation_price))
    await screenshot(page, "3-filled")


async def place_stop_loss(page: Page) -> None:
    """A reduce-only sell that the gateway holds off the book until the index is at or
    below 90,000."""
    await page.get_by_test_id("trigger").select_option("below")
    await page.get_by_test_id("trigger-price").fill("90000")
    await page.get_by_test_id("reduce-only").check()
    await place(page, "sell", "89000", "0.02")
    await page.get_by_role("button", name="Open orders").click()
    await expect(open_orders(page).filter(has_text="≤ 90000")).to_have_count(1)
    await expect(page.locator("#asks tr[data-price='89000']")).to_have_count(0)


async def cancel(page: Page) -> None:
    await page.get_by_role("button", name="Open orders").click()
    bid = open_orders(page).filter(has=page.locator("td.price", has_text="99000"))
    await bid.get_by_test_id("cancel").click()
    await expect(open_orders(page).locator("td.price")).to_have_text(["89000"])  # the stop
    await expect(page.locator("#bids tr[data-price='99000']")).to_have_count(0)


async def withdraw(page: Page, deployment: Deployment) -> None:
    await transfer(
        page, "request-withdrawal", "withdrawal of 250 USDC requested", ("withdraw-amount", "250")
    )
    withdrawal = page.get_by_test_id("withdrawal")
    await expect(withdrawal).to_contain_text("ready in")
    await expect(page.get_by_test_id("execute-withdrawal")).to_be_disabled()
    await screenshot(page, "4-withdrawal-requested")
    await asyncio.to_thread(move_chain_clock, deployment)
    await expect(withdrawal).to_have_attribute("data-ready", "true")
    await transfer(page, "execute-withdrawal", "withdrew 250 USDC")
    await expect(page.get_by_test_id("wallet-balance")).to_have_text("9250")  # 10000 - 1000 + 250
    await expect(withdrawal).to_be_hidden()
    await screenshot(page, "5-withdrawn")


async def isolated_margin(page: Page, node: Node, tmp_path: Path) -> None:
    """An isolated ETH-PERP long, then 100 USDC more margin moved into it from cross."""
    await page.get_by_test_id("market").select_option(label="ETH-PERP")
    await page.get_by_test_id("trigger").select_option("none")
    await page.get_by_test_id("reduce-only").uncheck()
    await page.get_by_test_id("margin-mode").select_option("isolated")
    await place(page, "buy", "3000", "1", "ETH-PERP")
    async with client(node, Role.MAKER, tmp_path / "bot") as bot:
        await bot.place("ETH-PERP", "sell", "1", "3000", time_in_force=TimeInForce.IOC)
    await page.get_by_role("button", name="Positions").click()
    position = page.get_by_test_id("positions").locator("tr[data-market=ETH-PERP]")
    await expect(position.locator("td.size")).to_have_text("1")
    await settled(node)  # the contract moves margin of settled positions only
    margin = position.locator("td.isolated-margin")
    await expect(margin).not_to_have_text("")
    before = Decimal(await margin.inner_text())
    await transfer(
        page,
        "add-margin",
        "added 100 USDC to the isolated ETH-PERP margin",
        ("isolated-amount", "100"),
    )
    await expect(margin).to_have_text(str(before + 100))
    await screenshot(page, "6-isolated-margin")


def watch_acks(acks: list[tuple[str, int]]) -> Callable[[Page], None]:
    """Collects (order hash, seq) of each ack the gateway sends the page with a receipt to
    follow: what the page must count and download."""

    def frames(payload: str | bytes) -> None:
        message = json.loads(payload)
        for frame in message if isinstance(message, list) else [message]:
            if frame["type"] in ("placed", "amended") and frame.get("receipt") is True:
                acks.append((frame["orderHash"], frame["seq"]))

    def socket(ws: WebSocket) -> None:
        ws.on("framereceived", frames)

    return lambda page: page.on("websocket", socket)


async def download_receipts(
    page: Page, acks: list[tuple[str, int]], node: Node, tmp_path: Path
) -> None:
    """The page counts a receipt per acknowledged order; the download is the receipts
    store's array form: every receipt the Checkpoints operator's, at its order's seq, with
    the journal's head and time stamp there, and `perpdex audit --receipts` checks them."""
    assert len(acks) == 4  # two bids, a stop-loss, the isolated long
    count = page.get_by_test_id("receipts-count")
    await expect(count).to_have_attribute("data-count", str(len(acks)))
    await expect(count).to_contain_text("signed by the operator")
    async with page.expect_download() as downloading:
        await page.get_by_test_id("download-receipts").click()
    download = await downloading.value
    directory = tmp_path / "downloaded"
    directory.mkdir()
    await download.save_as(directory / download.suggested_filename)
    assert [p.name for p in ReceiptStore(directory).paths()] == [download.suggested_filename]

    kept = list(ReceiptStore(directory))
    assert [("0x" + r.receipt.order_hash.hex(), r.receipt.seq) for r in kept] == sorted(
        acks, key=lambda ack: ack[1]
    )
    assert {r.receipt.shard for r in kept} == {EMBEDDED_SHARD}  # the embedded node's engine
    deployment = node.deployment
    operator = bind(connect(deployment.rpc_url), deployment).checkpoints.functions.operator()
    domain = receipt_domain(deployment.chain_id, deployment.contracts.checkpoints)
    entries = {entry.seq: entry for entry in read_file(node.state.journal)}
    for signed in kept:
        verify_receipt(signed.receipt, signed.signature, domain, Address(operator.call()))
        entry = entries[signed.receipt.seq]
        assert signed.receipt.head == entry.head
        assert signed.receipt.time == HEADER.unpack_from(entry.entry)[1]

    journal = str(node.state.journal)
    report = await asyncio.to_thread(audit_deployment, deployment, journal, receipts=directory)
    assert report.summary.receipts == len(kept)
    assert [d for d in report.discrepancies if d.check is Check.RECEIPT] == []


async def dashboard_shows_the_batch(browser: Browser, node: Node) -> None:
    async with page_of(browser, f"{node.http.url}/dashboard") as page:
        batch = page.get_by_test_id("batches").locator("tbody tr[data-block]")
        await expect(batch.first.locator("td.settled")).to_have_text("1")
        await expect(page.get_by_test_id("overall")).to_have_text("healthy")
        await screenshot(page, "7-dashboard")


async def transfer(
    page: Page, button: str, done: str, amount: tuple[str, str] | None = None
) -> None:
    if amount is not None:
        await page.get_by_test_id(amount[0]).fill(amount[1])
    await page.get_by_test_id(button).click()
    await expect(page.get_by_test_id("funds-status")).to_contain_text(done)


async def place(page: Page, side: str, price: str, size: str, market: str = "BTC-PERP") -> None:
    await page.locator("label", has=page.locator(f"input[name=side][value={side}]")).click()
    await page.get_by_test_id("price").fill(price)
    await page.get_by_test_id("size").fill(size)
    await page.get_by_test_id("submit").click()
    await expect(page.get_by_test_id("ticket-status")).to_contain_text(f"{side} {size} {market}")


def open_orders(page: Page) -> Locator:
    return page.get_by_test_id("open-orders").locator("tbody tr")


def move_chain_clock(deployment: Deployment) -> None:
    """Past the Exchange's withdrawal delay, in one mined block."""
    web3 = connect(deployment.rpc_url)
    delay = bind(web3, deployment).exchange.functions.withdrawal_delay().call()
    web3.provider.make_request("evm_increaseTime", [int(delay)])  # type: ignore[arg-type]
    web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
