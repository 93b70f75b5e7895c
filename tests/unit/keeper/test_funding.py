"""Funding: mids, time-weighted mark, premium rate, cap, and one post per interval."""

from __future__ import annotations

from dataclasses import dataclass, field

from perpdex.core.funding import FundingRate
from perpdex.core.margin import FundingIndex
from perpdex.core.types import MarketId, Price
from perpdex.keeper.chain import FundingState, Quote, Step
from perpdex.keeper.funding import (
    FundingPoster,
    Sample,
    funding_rate,
    mid_of,
    premium_rate,
    twap,
)
from perpdex.keeper.transactions import Reverted

SCALE = 10**9
BTC = MarketId(0)


def test_mid_needs_both_sides_and_rounds_down() -> None:
    assert mid_of(100, 103) == 101
    assert mid_of(None, 103) is None
    assert mid_of(100, None) is None


def test_twap_weights_each_mid_until_the_next_sample() -> None:
    samples = [Sample(0, Price(100)), Sample(1_000, Price(200)), Sample(4_000, Price(110))]
    # 100 for 1 s, 200 for 3 s, 110 for 1 s
    assert twap(samples, 5_000) == (100 + 600 + 110) // 5
    assert twap([Sample(0, Price(100)), Sample(1_000, Price(101))], 2_000) == 100  # 100.5 down
    assert twap([Sample(7, Price(42))], 7) == 42
    assert twap([], 10) is None


def test_premium_rate_is_the_relative_premium_truncated_toward_zero() -> None:
    assert premium_rate(Price(101), Price(100), SCALE) == SCALE // 100
    assert premium_rate(Price(99), Price(100), SCALE) == -(SCALE // 100)
    assert premium_rate(Price(100), Price(300), SCALE) == -666_666_666  # not -666_666_667
    assert premium_rate(Price(100), Price(100), SCALE) == 0


def test_the_rate_is_clamped_to_the_cap_and_zero_without_a_mark() -> None:
    cap = FundingRate(500_000)
    assert funding_rate(Price(110), Price(100), SCALE, cap) == cap
    assert funding_rate(Price(90), Price(100), SCALE, cap) == -cap
    assert funding_rate(Price(100_001), Price(100_000), SCALE, cap) == 10_000
    assert funding_rate(None, Price(100), SCALE, cap) == 0


@dataclass
class Books:
    mids: dict[MarketId, Price | None]

    def mid(self, market: MarketId) -> Price | None:
        return self.mids[market]


@dataclass
class Chain:
    """Markets.post_funding's rules: once per interval, clamped to the cap."""

    now: int = 1_000
    interval: int = 60
    cap: int = 500_000
    last_posted: int = 0
    index_price: int = 100_000
    fresh: bool = True
    posts: list[FundingRate] = field(default_factory=list)

    def block_timestamp(self) -> int:
        return self.now

    def funding(self, market: MarketId) -> FundingState:
        return FundingState(FundingIndex(0), self.interval, FundingRate(self.cap), self.last_posted)

    def funding_rate_scale(self) -> int:
        return SCALE

    def quote(self, market: MarketId) -> Quote:
        return Quote(Price(self.index_price), self.fresh)

    def funding_in_flight(self, market: MarketId) -> bool:
        return False

    def post_funding(self, market: MarketId, rate: FundingRate) -> Step:
        if self.now < self.last_posted + self.interval:
            raise Reverted("markets: funding interval not over")
        self.posts.append(rate)
        self.last_posted = self.now
        return Step(len(self.posts), b"")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_posts_once_per_interval_even_across_a_restart() -> None:
    chain, books, clock = Chain(), Books({BTC: Price(100_100)}), Clock()
    poster = FundingPoster(chain, books, [BTC], clock=clock)
    assert [p.rate for p in poster.tick()] == [500_000]  # 0.1% premium, capped
    clock.now = chain.now = 1_030
    assert poster.tick() == []
    restarted = FundingPoster(chain, books, [BTC], clock=clock)
    assert restarted.tick() == []
    chain.now = 1_060
    assert len(restarted.tick()) == 1
    assert chain.posts == [500_000, 500_000]


def test_the_mark_is_the_twap_of_the_interval() -> None:
    chain, books, clock = Chain(now=100), Books({BTC: None}), Clock()
    chain.last_posted = 100  # the next post is due at 160
    poster = FundingPoster(chain, books, [BTC], clock=clock)
    for at, mid in ((0, Price(100_010)), (10, Price(100_040)), (40, None)):
        clock.now, chain.now, books.mids[BTC] = at, 100 + at, mid
        assert poster.tick() == []
    clock.now, chain.now = 60, 160
    (posted,) = poster.tick()
    # 100_010 for 10 s, then 100_040 for 50 s (no new mid at 40 s)
    assert posted.mark == (100_010 * 10 + 100_040 * 50) // 60
    assert posted.rate == premium_rate(posted.mark, Price(100_000), SCALE)
    assert poster.samples[BTC] == [Sample(60_000, Price(100_040))]  # carried into the next


def test_a_stale_index_or_no_book_do_not_stop_the_task() -> None:
    chain, clock = Chain(fresh=False), Clock()
    poster = FundingPoster(chain, Books({BTC: None}), [BTC], clock=clock)
    assert poster.tick() == []
    chain.fresh = True
    (posted,) = poster.tick()
    assert posted.rate == 0 and posted.mark is None


def test_an_unreachable_book_skips_the_sample() -> None:
    class Away:
        def mid(self, market: MarketId) -> Price | None:
            raise OSError("gateway away")

    chain = Chain()
    (posted,) = FundingPoster(chain, Away(), [BTC], clock=Clock()).tick()
    assert posted.mark is None
