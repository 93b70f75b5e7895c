"""Helpers of the browser tests: Debian's chromium driven by Playwright, an ASGI app on
a loopback port, and screenshots in build/screenshots (the README shows them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import cache
from pathlib import Path

import uvicorn
from eth_utils.address import to_checksum_address
from playwright.async_api import Browser, Page, async_playwright, expect
from starlette.types import ASGIApp

from perpdex.chain.anvil import dev_accounts, repo_root
from perpdex.chain.deploy import demo_wallets
from perpdex.chain.deployment import Contracts, Deployment, ListedMarket
from perpdex.chain.markets import default_markets
from perpdex.core.types import Address, MarketId

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's browser (`.ci/run` installs it): Playwright's own download needs the network."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = repo_root() / "build" / "screenshots"
STEP_TIMEOUT_MS = 15_000
"""How long one step of a page waits for what it expects (an answer, a settled fill):
Playwright's 5 s default is short for a chain transaction on a loaded 2-core machine."""
expect.set_options(timeout=STEP_TIMEOUT_MS)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless chromium; fails (never skips) where none is installed."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def page_of(
    browser: Browser, url: str, watch: Callable[[Page], None] | None = None
) -> AsyncIterator[Page]:
    """A fresh page at ``url``, once its script says it is ready; a page error fails.
    ``watch`` sees the page before it loads (to listen to its WebSocket, say)."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if watch is not None:
        watch(page)
    try:
        await page.goto(url)
        await page.wait_for_selector("body[data-ready=true]", state="attached")
        yield page
    finally:
        await context.close()
    assert errors == [], f"the page raised: {errors}"


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """``app`` on uvicorn at a loopback port the OS picked, on this event loop: its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@cache
def offline_deployment() -> Deployment:
    """A deployment whose contracts were never deployed, on another chain than anvil's:
    enough for what the page signs (the domain: chain id and Exchange address), nothing
    on chain."""

    def address(n: int) -> Address:
        return Address(to_checksum_address(f"0x{n:040x}"))

    return Deployment(
        chain_id=8453,
        rpc_url="http://127.0.0.1:9",
        start_block=0,
        contracts=Contracts(
            exchange=address(0xE1C4A9),
            collateral=address(2),
            oracles={spec.symbol: address(10 + i) for i, spec in enumerate(default_markets())},
            markets=address(3),
            liquidations=address(4),
            checkpoints=address(5),
        ),
        abi={"Exchange": [], "MockUSDC": [], "Checkpoints": []},
        markets=tuple(
            ListedMarket(**asdict(spec), id=MarketId(i)) for i, spec in enumerate(default_markets())
        ),
        wallets=demo_wallets(dev_accounts()),
    )
