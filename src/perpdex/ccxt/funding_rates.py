"""A market's funding rates, read from the chain: the SDK reads a trader's funding
*payments*; ccxt's ``fetch_funding_rate`` and ``fetch_funding_rate_history`` want the
market's *rates*, which are the ``Markets.FundingPosted`` logs (the rate the funding keeper
applied, clamped to the cap, once per interval) and ``Markets.funding(market)`` (interval,
last post). Synchronous (web3 over HTTP): the client runs these in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from perpdex.chain.deploy import bind
from perpdex.chain.deployment import ListedMarket
from perpdex.core.funding import bounds
from perpdex.core.types import Price
from perpdex.sdk.chain_client import ChainReader

BLOCKS_PER_QUERY: Final = 2_000
"""Blocks per ``eth_getLogs`` call (public nodes cap the range)."""


@dataclass(frozen=True, slots=True)
class FundingPost:
    """One ``FundingPosted``: the rate a market's index moved by, per interval."""

    rate: Decimal
    """The applied rate per interval, a fraction of the index price (positive: longs
    pay shorts)."""
    price: Price
    time: int
    """Unix seconds of the post's block."""


@dataclass(frozen=True, slots=True)
class FundingSchedule:
    interval_s: int
    last_posted: int
    """Unix seconds of the last post (0: never posted)."""


def schedule(reader: ChainReader, market: ListedMarket) -> FundingSchedule:
    _index, interval, _cap, last_posted = _markets(reader).functions.funding(market.id).call()
    return FundingSchedule(int(interval), int(last_posted))


def posts(reader: ChainReader, market: ListedMarket, since_s: int = 0) -> list[FundingPost]:
    """The market's funding posts at or after ``since_s``, oldest first (a scan of the
    chain from the deployment's first block, in windows)."""
    event = _markets(reader).events.FundingPosted()
    head = reader.head()
    found: list[FundingPost] = []
    times: dict[int, int] = {}
    first = reader.deployment.start_block
    while first <= head:
        last = min(head, first + BLOCKS_PER_QUERY - 1)
        logs = event.get_logs(
            argument_filters={"market": market.id}, from_block=first, to_block=last
        )
        for log in logs:
            block = int(log["blockNumber"])
            if block not in times:
                times[block] = int(reader.timestamp(block))
            if times[block] >= since_s:
                found.append(_post(log["args"], times[block]))
        first = last + 1
    return found


def _post(args: Any, time: int) -> FundingPost:
    rate = Decimal(int(args["rate"])) / bounds().rate_scale
    return FundingPost(rate, Price(int(args["price"])), time)


def _markets(reader: ChainReader) -> Any:
    return bind(reader.web3, reader.deployment).markets
