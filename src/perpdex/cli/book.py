"""Show a market's order book from the gateway (no key needed)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from perpdex.cli.console import table
from perpdex.sdk.options import add_gateway_argument, add_trader_arguments, run_trader_command

if TYPE_CHECKING:
    from perpdex.chain.deployment import Deployment
    from perpdex.sdk.book import BookView


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("market", help="e.g. BTC-PERP")
    parser.add_argument("--depth", type=int, default=10, help="levels per side (default 10)")
    add_gateway_argument(parser)
    add_trader_arguments(parser, needs_key=False)


def run(args: argparse.Namespace) -> int:
    return run_trader_command(_run, args)


def _run(args: argparse.Namespace, deployment: Deployment) -> int:
    import asyncio

    if args.depth < 1:
        raise ValueError("--depth must be at least 1")
    symbol = args.market.upper()
    print(f"{symbol} book\n" + format_book(asyncio.run(_snapshot(args, deployment)), args.depth))
    return 0


async def _snapshot(args: argparse.Namespace, deployment: Deployment) -> BookView:
    import secrets

    from perpdex.sdk.client import Client
    from perpdex.sdk.keys import Wallet
    from perpdex.sdk.options import gateway_url

    # market data needs no account: a throwaway key that never logs in nor signs
    wallet = Wallet.from_private_key(secrets.token_bytes(32))
    async with Client(gateway_url(args, deployment), wallet, deployment, login=False) as client:
        subscription = await client.book(args.market)
        async for book in subscription:
            await subscription.close()
            return book
    raise ConnectionError("the gateway closed before sending the book")


def format_book(book: BookView, depth: int) -> str:
    """Bids and asks side by side, best prices on the first row."""
    from perpdex.sdk.display import plain

    bids, asks = book.bids[:depth], book.asks[:depth]
    if not bids and not asks:
        return f"(empty at seq {book.seq})"
    rows: list[tuple[str, ...]] = []
    for i in range(max(len(bids), len(asks))):
        bid = (plain(bids[i].size), plain(bids[i].price)) if i < len(bids) else ("", "")
        ask = (plain(asks[i].price), plain(asks[i].size)) if i < len(asks) else ("", "")
        rows.append((*bid, *ask))
    spread = f"\nspread {plain(asks[0].price - bids[0].price)}" if bids and asks else ""
    return table(("bid size", "bid", "ask", "ask size"), rows) + f"\n(seq {book.seq}){spread}"
