"""The evidence the invariants are computed from, each read from its source of truth:

* the bots' account streams (every fill and ``fill_rejected`` frame the SDK delivered),
  and the orders the gateway acknowledged to them (``place`` and ``amend`` returned);
* the chain's ``Filled`` and ``FillRejected`` events;
* the journal, read with the engine's own reader once the node has stopped;
* the gateway's account view (``GET /accounts/{address}`` of the HTTP API: the position
  manager's fold with pending fills) next to the contract's views.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from web3.contract import Contract

from perpdex.core.eip712 import Eip712Domain
from perpdex.core.types import Address, MarketId, OrderHash
from perpdex.core.units import to_collateral_units, to_price_units, to_size_units
from perpdex.engine.config import MarketConfig
from perpdex.engine.events import Event, Filled
from perpdex.gateway import protocol as wire
from perpdex.http.models import Account
from perpdex.risk.verify import chain_account
from perpdex.sdk.client import Client, PlacedOrder
from perpdex.sdk.gateway_http import http_get
from perpdex.sdk.subscriptions import AccountEvent, Subscription
from perpdex.sdk.values import Fill, FillRejected
from perpdex.services.engine import accepted_orders, replay_events
from perpdex.settlement.outcomes import FillKey, contract_reject_codes, fill_key
from perpdex.settlement.payload import match_from_fill
from perpdex.sim.chaos.metrics import (
    ChainFill,
    ChainRejection,
    JournalFill,
    Received,
    StreamFill,
)


class AckedClient(Client):
    """The SDK client, noting every order the gateway acknowledged (placed or amended to)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acked: list[OrderHash] = []

    async def place(self, *args: Any, **kwargs: Any) -> PlacedOrder:
        placed = await super().place(*args, **kwargs)
        self.acked.append(placed.order_hash)
        return placed

    async def amend(self, *args: Any, **kwargs: Any) -> PlacedOrder:
        placed = await super().amend(*args, **kwargs)
        self.acked.append(placed.order_hash)
        return placed


async def record_stream(events: Subscription[AccountEvent], into: Received) -> None:
    """Every fill and ``fill_rejected`` frame of an account subscription, until cancelled
    (the SDK keeps the subscription across reconnects)."""
    async for event in events:
        if isinstance(event, Fill):
            own = wire.parse_order_hash(event.order_hash)
            price, size = to_price_units(event.price), to_size_units(event.size)
            into.fills.append(StreamFill(own, event.maker, price, size))
        elif isinstance(event, FillRejected):
            into.rejected.add(wire.parse_order_hash(event.order_hash))
            into.reasons[event.reason] += 1


def chain_outcomes(
    exchange: Contract, start_block: int
) -> tuple[list[ChainFill], list[ChainRejection]]:
    """Every ``Filled`` and ``FillRejected`` event since the deployment."""
    reasons = contract_reject_codes(exchange)
    filled = [
        ChainFill(
            Address(e["args"]["maker"]),
            Address(e["args"]["taker"]),
            OrderHash(bytes(e["args"]["maker_hash"])),
            OrderHash(bytes(e["args"]["taker_hash"])),
            int(e["args"]["price"]),
            int(e["args"]["size"]),
        )
        for e in exchange.events.Filled().get_logs(from_block=start_block)
    ]
    rejected = [
        ChainRejection(
            (OrderHash(bytes(e["args"]["maker_hash"])), OrderHash(bytes(e["args"]["taker_hash"]))),
            reasons[int(e["args"]["reason"])],
        )
        for e in exchange.events.FillRejected().get_logs(from_block=start_block)
    ]
    return filled, rejected


def journal_evidence(
    journal: Path, markets: Iterable[MarketConfig], domain: Eip712Domain
) -> tuple[set[OrderHash], dict[FillKey, JournalFill]]:
    """The signed orders the engine took and the fills it matched, by the engine's own
    journal readers (the node must be stopped: opening the journal trims a torn tail)."""
    markets = list(markets)
    accepted = {signed.order_hash for signed in accepted_orders(journal, markets, domain)}
    fills: dict[FillKey, JournalFill] = {}

    def collect(event: Event) -> None:
        if isinstance(event, Filled):
            key = fill_key(match_from_fill(event, domain))
            fills[key] = JournalFill(key, event.maker_account, event.taker_account)

    replay_events(journal, markets, collect)
    return accepted, fills


async def account_differences(
    web_url: str,
    exchange: Contract,
    traders: Sequence[Address],
    listed: Sequence[MarketId],
    head: int,
) -> list[str]:
    """Where the gateway's view of each trader differs from the contract's views at
    ``head`` (collateral, positions, cross health)."""
    found = []
    for trader in traders:
        view = await asyncio.to_thread(_gateway_account, web_url, trader)
        chain = await asyncio.to_thread(_chain_view, exchange, trader, listed, head)
        if view != chain:
            found.append(f"{trader}: gateway {view} != chain {chain}")
    return found


def _gateway_account(web_url: str, trader: Address) -> tuple[object, ...] | None:
    """The account's figures in the contract's integers (the API's decimals are exact)."""
    account = http_get(web_url, f"/accounts/{trader}", Account)
    if account.collateral is None:
        return None
    figures = (account.equity, account.initial_margin, account.maintenance_margin)
    return (
        to_collateral_units(account.collateral),
        tuple(to_collateral_units(figure or "0") for figure in figures),
        sorted(
            (
                leg.market_id,
                to_size_units(leg.size),
                to_collateral_units(leg.quote),
                to_collateral_units(leg.isolated_margin),
            )
            for leg in account.legs
        ),
    )


def _chain_view(
    exchange: Contract, trader: Address, listed: Sequence[MarketId], block: int
) -> tuple[object, ...]:
    account = chain_account(exchange, trader, listed, block)
    health = exchange.functions.cross_health(trader).call(block_identifier=block)
    return (
        account.collateral,
        tuple(int(value) for value in health),
        sorted((m, p.size, p.quote, p.isolated_margin) for m, p in account.positions.items()),
    )
