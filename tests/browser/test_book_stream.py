"""The page's book against a scripted gateway: integers above 2^53 are shown exactly, and
a gap in the market's book seq (a lost frame) makes the page subscribe again and redraw
from the fresh snapshot, never from a book it knows to be incomplete."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from playwright.async_api import expect
from starlette.applications import Starlette
from tests.browser.browser_testing import chromium, offline_deployment, page_of, serving
from websockets.asyncio.server import ServerConnection, serve

from perpdex.webapp import mount

HUGE = 2**53 + 1
"""A size the JavaScript number type cannot hold: 90,071,992.54740993 BTC in size units."""
PRICE = 99_990_000_000  # 99,990 USD in price units


def book(kind: str, seq: int, *bids: tuple[int, int]) -> dict[str, Any]:
    return {"type": kind, "market": 0, "seq": seq, "bids": [list(b) for b in bids], "asks": []}


def test_the_book_is_exact_and_resubscribes_after_a_gap() -> None:
    subscribed: asyncio.Queue[ServerConnection] = asyncio.Queue()

    async def gateway(connection: ServerConnection) -> None:
        async for message in connection:
            request = json.loads(message)
            answer = {"type": "subscribed", "id": request["id"], "channel": request["channel"]}
            await connection.send(json.dumps(answer))
            if request["op"] == "subscribe" and request["channel"] == "book":
                await subscribed.put(connection)

    async def scenario() -> None:
        async with serve(gateway, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            deployment = replace(offline_deployment(), gateway_url=f"ws://127.0.0.1:{port}")
            app = Starlette()
            mount(app, lambda: deployment)
            async with serving(app) as url, chromium() as browser, page_of(browser, url) as page:
                connection = await subscribed.get()
                # json.dumps writes HUGE's exact digits, as the gateway's msgspec does
                frames = [book("book", 5, (PRICE, HUGE)), book("book_update", 6, (PRICE - 10, 1))]
                await connection.send(json.dumps(frames))
                sizes = page.locator("#bids tr td:nth-child(2)")
                await expect(sizes).to_have_text(["90071992.54740993", "0.00000001"])

                await connection.send(json.dumps(book("book_update", 8, (PRICE - 20, 7))))
                again = await asyncio.wait_for(subscribed.get(), timeout=10)  # 7 was lost
                await again.send(json.dumps(book("book", 9, (PRICE, 3))))
                await expect(sizes).to_have_text(["0.00000003"])

    asyncio.run(scenario())
