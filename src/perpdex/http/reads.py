"""What every route starts from: the node's sources, the live gateway (released first, so
what a route reads is durable, as on the WebSocket), markets named by symbol or id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Final, TypeVar

from fastapi import Depends, Path, Request

from perpdex.chain.deployment import ListedMarket
from perpdex.gateway.service import Gateway
from perpdex.http.errors import ApiErrorCode, not_found, unavailable
from perpdex.http.sources import Sources

SLOW_READS: Final = 2
"""Reads run in worker threads at once (journal pages, the chain's logs); more wait."""

_Result = TypeVar("_Result")

MarketRef = Annotated[
    str,
    Path(
        description="The market's symbol (``BTC-PERP``) or id (``0``)",
        examples=["BTC-PERP"],
        max_length=32,
    ),
]


def sources_of(request: Request) -> Sources:
    sources: Sources = request.app.state.sources
    return sources


def released_gateway(sources: Annotated[Sources, Depends(sources_of)]) -> Gateway:
    """The running gateway, every accepted command made durable and its frames sent: the
    release due next runs now if one is due (a read between two releases would otherwise
    show commands not yet durable), and not otherwise (a read costs no flush, no fsync)."""
    gateway = sources.gateway()
    if gateway is None:
        raise unavailable("the gateway")
    if gateway.release_pending:
        gateway.release()
    return gateway


SourcesDep = Annotated[Sources, Depends(sources_of)]
GatewayDep = Annotated[Gateway, Depends(released_gateway)]


def listed_market(sources: Sources, ref: str) -> ListedMarket:
    """The market named ``ref`` (symbol, any case, or id); 404 ``unknown_market``."""
    for listed in sources.deployment.markets:
        if ref.upper() == listed.symbol.upper() or ref == str(listed.id):
            return listed
    raise not_found(ApiErrorCode.UNKNOWN_MARKET, f"no market {ref!r}")


def served_market(sources: Sources, gateway: Gateway, ref: str) -> ListedMarket:
    """A listed market this node's engine serves; 404 ``unknown_market`` otherwise."""
    listed = listed_market(sources, ref)
    if listed.id not in gateway.engine.markets:
        raise not_found(ApiErrorCode.UNKNOWN_MARKET, f"market {ref!r} is not served here")
    return listed


async def slow_read(request: Request, read: Callable[[], _Result]) -> _Result:
    """Run ``read`` (file or chain I/O) in a worker thread, at most :data:`SLOW_READS` at
    once: a flood of such reads queues here instead of taking every thread of the loop's
    executor, which the node's own loops use too."""
    gate: asyncio.Semaphore = request.app.state.slow_reads
    async with gate:
        return await asyncio.to_thread(read)
