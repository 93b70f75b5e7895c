"""An account: ``/accounts/{address}`` (margin, positions with their figures, open
orders), its ``/open-orders``, one order by hash (``/orders/{hash}``) or client id
(``/client-orders/{id}``), its history pages
``/events``, ``/fills`` and ``/orders`` (the account store, by ``accountSeq`` or order id)
and its ``/funding`` payments (the chain's ``FundingSettled`` logs)."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from fastapi import APIRouter, Path, Query, Request

from perpdex.core.types import Address, MarketId
from perpdex.gateway import protocol as wire
from perpdex.gateway.protocol import MAX_CLIENT_ID_LENGTH
from perpdex.gateway.queries import open_orders, order_status
from perpdex.gateway.service import Gateway
from perpdex.http import models, views
from perpdex.http.amounts import size_text, text, usdc_text
from perpdex.http.errors import ERROR_RESPONSES, ApiErrorCode, malformed, not_found
from perpdex.http.reads import GatewayDep, SourcesDep, listed_market, served_market, slow_read
from perpdex.http.sources import Sources
from perpdex.sdk.chain_client import ChainReader
from perpdex.sdk.chain_reads import funding_payments

MAX_PAGE: Final = 1000
DEFAULT_PAGE: Final = 100

router = APIRouter(prefix="/accounts/{address}", tags=["accounts"], responses=ERROR_RESPONSES)

AddressText = Annotated[
    str,
    Path(
        pattern="^0x[0-9a-fA-F]{40}$",
        description="The trader's address, any case",
        examples=["0x90F79bf6EB2c4f870365E785982E1f101E93b906"],
    ),
]
After = Annotated[int, Query(ge=0, le=2**63 - 1, description="The cursor of the page before")]
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
MarketQuery = Annotated[
    str | None, Query(max_length=32, description="Only this market (symbol or id)")
]

_event_decoder: Final = msgspec.json.Decoder(wire.AccountEvent)
_order_decoder: Final = msgspec.json.Decoder(wire.HistoricalOrder)


@router.get("", response_model=models.Account)
async def account(sources: SourcesDep, gateway: GatewayDep, address: AddressText) -> models.Account:
    trader = _trader(address)
    symbols = _symbols(sources)
    state = gateway.risk.account(trader)
    return models.Account(
        trader=trader,
        collateral=None if state is None else usdc_text(state.collateral),
        equity=None if state is None else usdc_text(state.equity),
        initial_margin=None if state is None else usdc_text(state.initial_margin),
        maintenance_margin=None if state is None else usdc_text(state.maintenance_margin),
        positions=[views.position(symbols, p) for p in gateway.risk.positions(trader)],
        legs=[]
        if state is None
        else [
            models.PositionLeg(
                market=symbols[p.market],
                market_id=p.market,
                size=size_text(p.size),
                quote=usdc_text(p.quote),
                isolated_margin=usdc_text(p.isolated_margin),
            )
            for p in state.positions
        ],
        open_orders=[views.open_order(symbols, o) for o in open_orders(gateway.registry, trader)],
    )


@router.get("/open-orders", response_model=list[models.OpenOrder])
async def account_open_orders(
    sources: SourcesDep, gateway: GatewayDep, address: AddressText, market: MarketQuery = None
) -> list[models.OpenOrder]:
    """The account's orders on the book now (in ``market``, or all), oldest first."""
    trader = _trader(address)
    only = None if market is None else MarketId(served_market(sources, gateway, market).id)
    symbols = _symbols(sources)
    return [views.open_order(symbols, o) for o in open_orders(gateway.registry, trader, only)]


@router.get("/orders/{order_hash}", response_model=models.HistoricalOrder)
async def account_order(
    sources: SourcesDep,
    gateway: GatewayDep,
    address: AddressText,
    order_hash: Annotated[str, Path(pattern="^0x[0-9a-fA-F]{64}$", description="Its hash")],
) -> models.HistoricalOrder:
    """One order of the history by its hash (an amended order's current one)."""
    found = order_status(gateway.accounts, _trader(address), order_hash=order_hash.lower())
    return _found(sources, found)


@router.get("/client-orders/{client_id}", response_model=models.HistoricalOrder)
async def account_client_order(
    sources: SourcesDep,
    gateway: GatewayDep,
    address: AddressText,
    client_id: Annotated[str, Path(min_length=1, max_length=MAX_CLIENT_ID_LENGTH)],
) -> models.HistoricalOrder:
    """The newest order of the history with this client id. Both lookups scan the
    account's stored orders: an index by hash and client id would double the store's
    writes, which the matching loop pays."""
    found = order_status(gateway.accounts, _trader(address), client_id=client_id)
    return _found(sources, found)


@router.get("/events", response_model=models.EventsPage)
async def account_events(
    sources: SourcesDep,
    gateway: GatewayDep,
    address: AddressText,
    after: After = 0,
    limit: PageLimit = DEFAULT_PAGE,
) -> models.EventsPage:
    """Fills, refused fills and order updates with ``accountSeq`` above ``after``."""
    return _events(sources, gateway, _trader(address), after, limit, None)


@router.get("/fills", response_model=models.EventsPage)
async def account_fills(
    sources: SourcesDep,
    gateway: GatewayDep,
    address: AddressText,
    after: After = 0,
    limit: PageLimit = DEFAULT_PAGE,
) -> models.EventsPage:
    """The account's fills with ``accountSeq`` above ``after``."""
    return _events(sources, gateway, _trader(address), after, limit, "fill")


@router.get("/orders", response_model=models.OrdersPage)
async def account_orders(
    sources: SourcesDep,
    gateway: GatewayDep,
    address: AddressText,
    after: After = 0,
    limit: PageLimit = DEFAULT_PAGE,
) -> models.OrdersPage:
    """Every order the engine accepted for the account, by order id above ``after``."""
    rows = gateway.accounts.orders(_trader(address), after, limit)
    symbols = _symbols(sources)
    return models.OrdersPage(
        orders=[views.historical_order(symbols, _order_decoder.decode(data)) for _, data in rows],
        next=rows[-1][0] if len(rows) == limit else None,
    )


@router.get("/funding", response_model=models.FundingPage)
async def account_funding(
    request: Request,
    sources: SourcesDep,
    address: AddressText,
    market: MarketQuery = None,
    after: After = 0,
    limit: PageLimit = DEFAULT_PAGE,
) -> models.FundingPage:
    """Funding payments after cursor ``after``, oldest first: a scan of the chain's logs
    (in a worker thread), so slower than the other reads."""
    trader = _trader(address)
    listed = None if market is None else listed_market(sources, market)

    def read() -> models.FundingPage:
        reader = ChainReader(sources.deployment)
        found, cursor = funding_payments(reader, trader, listed, after, limit)
        return models.FundingPage(
            payments=[
                models.FundingPayment(
                    market=p.market,
                    amount=text(p.amount),
                    index=text(p.index),
                    time=int(p.time.timestamp() * 1000),
                    block=p.block,
                    cursor=p.cursor,
                )
                for p in found
            ],
            next=cursor,
        )

    return await slow_read(request, read)


# -- helpers --------------------------------------------------------------------------------


def _trader(text: str) -> Address:
    try:
        return wire.parse_address(text)
    except ValueError as error:
        raise malformed(str(error)) from None


def _found(sources: Sources, order: wire.HistoricalOrder | None) -> models.HistoricalOrder:
    if order is None:
        raise not_found(ApiErrorCode.UNKNOWN_ORDER, "no such order")
    return views.historical_order(_symbols(sources), order)


def _symbols(sources: Sources) -> dict[int, str]:
    return {listed.id: listed.symbol for listed in sources.deployment.markets}


def _events(
    sources: Sources,
    gateway: Gateway,
    trader: Address,
    after: int,
    limit: int,
    kind: str | None,
) -> models.EventsPage:
    rows = gateway.accounts.events(trader, after, limit, kind)
    symbols = _symbols(sources)
    return models.EventsPage(
        events=[views.account_event(symbols, _event_decoder.decode(data)) for _, data in rows],
        next=rows[-1][0] if len(rows) == limit else None,
    )
