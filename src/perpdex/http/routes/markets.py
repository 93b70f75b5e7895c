"""Market data: ``/markets``, ``/markets/{market}``, its ``/book``, ``/trades`` and
``/candles`` (the tape, ``gateway/tape.py``)."""

from __future__ import annotations

import time
from typing import Annotated, Final

from fastapi import APIRouter, Query

from perpdex.chain.deployment import ListedMarket
from perpdex.core.funding import bounds
from perpdex.core.types import MarketId
from perpdex.gateway.service import Gateway
from perpdex.gateway.tape import CANDLES_KEPT, INTERVALS, TRADES_KEPT, UnknownIntervalError
from perpdex.http import models, views
from perpdex.http.amounts import fraction_text, ppm_text, price_text, size_text
from perpdex.http.errors import ERROR_RESPONSES, malformed
from perpdex.http.reads import GatewayDep, MarketRef, SourcesDep, served_market
from perpdex.http.sources import Sources

DEFAULT_LIMIT: Final = 100
"""Trades or candles a request gets unless it asks for a number."""

_DAY_MS: Final = 86_400_000

router = APIRouter(tags=["markets"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=min(TRADES_KEPT, CANDLES_KEPT), description="How many")]
Interval = Annotated[
    str, Query(pattern=f"^({'|'.join(INTERVALS)})$", description="The candle interval")
]


@router.get("/markets", response_model=list[models.Market])
async def markets(sources: SourcesDep, gateway: GatewayDep) -> list[models.Market]:
    """Every market this node serves."""
    return [
        market_view(sources, gateway, listed)
        for listed in sources.deployment.markets
        if listed.id in gateway.engine.markets
    ]


@router.get("/markets/{market}", response_model=models.Market)
async def market(sources: SourcesDep, gateway: GatewayDep, market: MarketRef) -> models.Market:
    return market_view(sources, gateway, served_market(sources, gateway, market))


@router.get("/markets/{market}/book", response_model=models.Book)
async def book(sources: SourcesDep, gateway: GatewayDep, market: MarketRef) -> models.Book:
    listed = served_market(sources, gateway, market)
    snapshot = gateway.feeds.snapshot(MarketId(listed.id))
    # built unvalidated: every amount comes from price_text and size_text (two hundred
    # pattern checks would cost more than the rest of the read)
    return models.Book.model_construct(
        market=listed.symbol,
        seq=snapshot.seq,
        bids=[[price_text(p), size_text(s)] for p, s in snapshot.bids],
        asks=[[price_text(p), size_text(s)] for p, s in snapshot.asks],
    )


@router.get("/markets/{market}/trades", response_model=list[models.Trade])
async def trades(
    sources: SourcesDep, gateway: GatewayDep, market: MarketRef, limit: Limit = DEFAULT_LIMIT
) -> list[models.Trade]:
    """The market's newest ``limit`` trades, newest first."""
    listed = served_market(sources, gateway, market)
    return [views.trade(t) for t in gateway.tape.trades(MarketId(listed.id), limit)]


@router.get("/markets/{market}/candles", response_model=list[models.Candle])
async def candles(
    sources: SourcesDep,
    gateway: GatewayDep,
    market: MarketRef,
    interval: Interval = "1m",
    limit: Limit = DEFAULT_LIMIT,
) -> list[models.Candle]:
    """The market's newest ``limit`` candles, oldest first; an interval without a trade
    has no candle."""
    listed = served_market(sources, gateway, market)
    try:
        found = gateway.tape.candles(MarketId(listed.id), interval, limit)
    except UnknownIntervalError as error:
        raise malformed(str(error)) from None
    return [views.candle(c) for c in found]


def market_view(sources: Sources, gateway: Gateway, listed: ListedMarket) -> models.Market:
    """The market's terms as the position manager folded them from the chain (the
    deployment's until it has), its prices and funding as last read from the chain."""
    market = MarketId(listed.id)
    pm = sources.positions()
    quote = None if pm is None else pm.quotes.get(market)
    state = None if pm is None else pm.ledger.markets.get(market)
    snapshot = sources.chain.snapshot
    chain = None if snapshot is None else snapshot.markets.get(market)
    open_interest = (
        0
        if pm is None
        else sum(
            max(position.size, 0)
            for account in pm.ledger.accounts.values()
            if (position := account.positions.get(market)) is not None
        )
    )
    return models.Market(
        id=listed.id,
        symbol=listed.symbol,
        tick_size=price_text(listed.tick_size),
        lot_size=size_text(listed.lot_size),
        maker_fee=ppm_text(listed.maker_fee_ppm if quote is None else quote.maker_fee_ppm),
        taker_fee=ppm_text(listed.taker_fee_ppm if quote is None else quote.taker_fee_ppm),
        initial_margin=ppm_text(
            listed.initial_margin_ppm if state is None else state.params.initial_margin_ppm
        ),
        maintenance_margin=ppm_text(
            listed.maintenance_margin_ppm if state is None else state.params.maintenance_margin_ppm
        ),
        max_leverage=listed.max_leverage if chain is None else chain.max_leverage,
        index_price=None if chain is None else price_text(chain.index_price),
        mark_price=None if quote is None else price_text(quote.price),
        mark_price_fresh=None if quote is None else quote.fresh,
        funding_rate=None
        if chain is None or chain.funding_rate is None
        else fraction_text(chain.funding_rate, bounds().rate_scale),
        funding_interval_s=None if chain is None else chain.funding_interval_s,
        next_funding_time=None if chain is None else chain.next_funding_s * 1000,
        open_interest=size_text(open_interest),
        volume24h=size_text(_volume_24h(gateway, market)),
    )


def _volume_24h(gateway: Gateway, market: MarketId) -> int:
    since = int(time.time() * 1000) - _DAY_MS
    hourly = gateway.tape.candles(market, "1h", 25)
    return sum(candle.volume for candle in hourly if candle.start >= since)
