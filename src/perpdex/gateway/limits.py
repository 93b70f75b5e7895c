"""Token buckets: how many requests a connection, and an account, may send per second.

A bucket holds up to ``burst`` tokens and refills at ``rate`` per second; a request takes
one. Rates are not money, so floats are fine here. Time is passed in (monotonic seconds),
which keeps the buckets deterministic under test.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.core.types import Address


@dataclass(frozen=True, slots=True)
class Limits:
    connection_rate: float = 20_000.0  # requests per second on one connection
    connection_burst: float = 2_000.0
    account_rate: float = 10_000.0  # orders, cancels and amends per second of one trader
    account_burst: float = 1_000.0


class TokenBucket:
    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs a positive rate and room for one request")
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def take(self, now: float) -> bool:
        """Take one token if there is one; False means the request is over the limit."""
        tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if tokens < 1:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1
        return True


class AccountBuckets:
    """One bucket per trader, shared by all of the trader's connections."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        self._buckets: dict[Address, TokenBucket] = {}

    def take(self, trader: Address, now: float) -> bool:
        bucket = self._buckets.get(trader)
        if bucket is None:
            bucket = self._buckets[trader] = TokenBucket(self._rate, self._burst, now)
        return bucket.take(now)

    def forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled completely: a new one is the same bucket."""
        self._buckets = {
            trader: bucket
            for trader, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * bucket.rate < bucket.burst
        }
