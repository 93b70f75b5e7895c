"""Market prices and a trader's funding payments, read from the chain as decimals.

The mark price is what the Exchange values positions at (``Markets.price``: the oracle's
price while it is good, else the last good one); the index price is the oracle's latest
answer itself. Funding payments are the Exchange's ``FundingSettled`` logs of the trader:
the contract settles funding into a position's quote leg whenever it touches the position
(a fill, a liquidation), so a payment shows up then, for the whole period since the last.
Synchronous (web3 over HTTP): the client runs these in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Address, MarketId
from perpdex.sdk.chain_client import ChainReader
from perpdex.sdk.values import collateral, price

BLOCKS_PER_QUERY: Final = 2_000
"""Blocks per ``eth_getLogs`` call (public nodes cap the range)."""

_INDEX_BITS: Final = 32
"""A funding cursor is ``block << 32 | log index``: chain order as one integer."""


@dataclass(frozen=True, slots=True)
class MarkPrice:
    market: str
    price: Decimal
    fresh: bool
    """False: the oracle's price is stale or faulty, and this is the last good one."""


@dataclass(frozen=True, slots=True)
class IndexPrice:
    market: str
    price: Decimal
    time: datetime
    """When the oracle last updated it."""


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """Funding settled into a position: ``amount`` USDC received (negative: paid)."""

    market: str
    amount: Decimal
    index: Decimal
    """The market's cumulative funding index the position now settles from (USDC per
    whole base unit)."""
    time: datetime
    block: int
    cursor: int
    """Pass as ``after`` to read the payments after this one."""


def mark_price(reader: ChainReader, market: ListedMarket) -> MarkPrice:
    units, fresh = reader.mark_and_freshness(market)
    return MarkPrice(market.symbol, price(units), fresh)


def index_price(reader: ChainReader, market: ListedMarket) -> IndexPrice:
    units, updated_at = reader.oracle_price(market)
    return IndexPrice(market.symbol, price(units), datetime.fromtimestamp(updated_at, UTC))


def funding_payments(
    reader: ChainReader,
    trader: Address,
    market: ListedMarket | None,
    after: int,
    limit: int,
) -> tuple[list[FundingPayment], int | None]:
    """The trader's payments after cursor ``after``, oldest first, at most ``limit``, and
    the cursor of the next page (None: the chain has no more now)."""
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    found: list[FundingPayment] = []
    times: dict[int, datetime] = {}
    head = reader.head()
    first = max(reader.deployment.start_block, after >> _INDEX_BITS)
    while first <= head and len(found) < limit:
        last = min(head, first + BLOCKS_PER_QUERY - 1)
        for log in reader.funding_settled(trader, market, first, last):
            block = int(log["blockNumber"])
            cursor = block << _INDEX_BITS | int(log["logIndex"])
            if cursor <= after:
                continue
            if block not in times:
                times[block] = datetime.fromtimestamp(reader.timestamp(block), UTC)
            args = log["args"]
            found.append(
                FundingPayment(
                    reader.markets.id(MarketId(args["market"])).symbol,
                    collateral(args["amount"]),
                    collateral(args["index"]),
                    times[block],
                    block,
                    cursor,
                )
            )
            if len(found) == limit:
                break
        first = last + 1
    return found, found[-1].cursor if len(found) == limit else None
