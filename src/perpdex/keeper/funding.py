"""Funding: the premium of the book's mark over the index price, posted once per interval.

Every tick samples each market's book mid (best bid and ask, rounded down); the mark of an
interval is the time-weighted mean of those mids, each holding from its sample until the
next. The rate is the premium ``(mark - index) / index`` at ``FUNDING_RATE_SCALE``
(truncated toward zero), clamped to the market's cap, both read from the chain. A market
is posted only once its interval is over *on chain* (``Markets.funding().last_posted``),
so a restarted keeper, or two of them, never post twice in one interval (the contract
would refuse anyway). Without a mid in the interval the rate is 0: no premium is known, and
the post still records the index price and starts the next interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from perpdex.core.funding import FundingRate, clamp_rate
from perpdex.core.rounding import div_floor, mul_div_trunc
from perpdex.core.types import MarketId, Price
from perpdex.core.units import to_price_units
from perpdex.engine.matching import MatchingEngine
from perpdex.http.models import Book
from perpdex.keeper.chain import FundingState, Quote, Step
from perpdex.keeper.transactions import Reverted
from perpdex.sdk.gateway_http import discover_http_url, http_get

log = logging.getLogger(__name__)

_MS: Final = 1_000


class BookSource(Protocol):
    def mid(self, market: MarketId) -> Price | None:
        """The book's mid now, None while a side is empty."""
        ...


def mid_of(best_bid: int | None, best_ask: int | None) -> Price | None:
    """The mid of a two-sided book, rounded down (a price, not money: either way is fair)."""
    if best_bid is None or best_ask is None:
        return None
    return Price(div_floor(best_bid + best_ask, 2))


class EngineBooks:
    """Mids of the engine's books, in the keeper's own process."""

    def __init__(self, books: Mapping[MarketId, MatchingEngine]) -> None:
        self._books = books

    def mid(self, market: MarketId) -> Price | None:
        book = self._books[market]
        return mid_of(book.bids.best_price(), book.asks.best_price())


class GatewayBooks:
    """Mids from the node's HTTP API, ``GET /markets/{market}/book`` (levels best first),
    found from the gateway's URL on first use (the node may not be up yet)."""

    def __init__(self, gateway_url: str) -> None:
        self._gateway_url = gateway_url
        self._web_url: str | None = None

    def mid(self, market: MarketId) -> Price | None:
        if self._web_url is None:
            self._web_url = discover_http_url(self._gateway_url)
        book = http_get(self._web_url, f"/markets/{market}/book", Book)
        bid, ask = book.bids[:1], book.asks[:1]
        return mid_of(
            to_price_units(bid[0][0]) if bid else None, to_price_units(ask[0][0]) if ask else None
        )


@dataclass(frozen=True, slots=True)
class Sample:
    at_ms: int
    mid: Price


def twap(samples: Sequence[Sample], end_ms: int) -> Price | None:
    """The time-weighted mean of ``samples`` (in time order) up to ``end_ms``, each mid
    holding until the next sample; rounded down. A window of no duration is its last mid."""
    if not samples:
        return None
    weighted = total = 0
    for sample, following in zip(samples, [*samples[1:], None], strict=True):
        until = end_ms if following is None else following.at_ms
        duration = max(until - sample.at_ms, 0)
        weighted += sample.mid * duration
        total += duration
    if total == 0:
        return samples[-1].mid
    return Price(div_floor(weighted, total))


def premium_rate(mark: Price, index: Price, rate_scale: int) -> FundingRate:
    """``(mark - index) / index`` at ``rate_scale``, truncated toward zero (as the contract
    rounds the index step it makes of it): positive when the book trades above the index,
    so longs pay shorts."""
    return FundingRate(mul_div_trunc(mark - index, rate_scale, index))


def funding_rate(
    mark: Price | None, index: Price, rate_scale: int, cap: FundingRate
) -> FundingRate:
    """The rate to post: the premium clamped to ``cap``, 0 without a mark."""
    if mark is None:
        return FundingRate(0)
    return clamp_rate(premium_rate(mark, index, rate_scale), cap)


class FundingChain(Protocol):
    def block_timestamp(self) -> int: ...

    def funding(self, market: MarketId) -> FundingState: ...

    def funding_rate_scale(self) -> int: ...

    def quote(self, market: MarketId) -> Quote: ...

    def funding_in_flight(self, market: MarketId) -> bool: ...

    def post_funding(self, market: MarketId, rate: FundingRate) -> Step: ...


@dataclass(frozen=True, slots=True)
class Posted:
    market: MarketId
    rate: FundingRate
    mark: Price | None
    index: Price
    step: Step


class FundingPoster:
    def __init__(
        self,
        chain: FundingChain,
        books: BookSource,
        markets: Sequence[MarketId],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.books = books
        self.markets = tuple(markets)
        self.clock = clock
        self.samples: dict[MarketId, list[Sample]] = {m: [] for m in self.markets}
        self._rate_scale: int | None = None

    def tick(self) -> list[Posted]:
        """Sample every book, then post every market whose interval is over on chain."""
        now_ms = int(self.clock() * _MS)
        for market in self.markets:
            try:
                mid = self.books.mid(market)
            except OSError as error:  # the book's server is away: this sample is skipped
                log.warning("no book for market %d: %s", market, error)
                continue
            if mid is not None:
                self.samples[market].append(Sample(now_ms, mid))
        chain_now = self.chain.block_timestamp()
        posted: list[Posted] = []
        for market in self.markets:
            if chain_now >= self.chain.funding(market).due_at:
                post = self._post(market, now_ms)
                if post is not None:
                    posted.append(post)
        return posted

    def _post(self, market: MarketId, now_ms: int) -> Posted | None:
        if self.chain.funding_in_flight(market):
            return None
        quote = self.chain.quote(market)
        if not quote.fresh:
            log.warning("market %d: stale index price, funding waits", market)
            return None
        if self._rate_scale is None:
            self._rate_scale = self.chain.funding_rate_scale()
        state = self.chain.funding(market)
        samples = self.samples[market]
        mark = twap(samples, now_ms)
        rate = funding_rate(mark, quote.price, self._rate_scale, state.rate_cap)
        try:
            step = self.chain.post_funding(market, rate)
        except Reverted as refusal:  # e.g. another keeper posted this interval first
            log.warning("funding of market %d refused: %s", market, refusal.reason)
            return None
        # the last mid holds into the next interval until a new sample replaces it
        self.samples[market] = [Sample(now_ms, samples[-1].mid)] if samples else []
        log.info("funding market %d: rate %d (mark %s, index %d)", market, rate, mark, quote.price)
        return Posted(market, rate, mark, quote.price, step)
