from perpdex.core.types import Address
from perpdex.gateway.limits import AccountBuckets, TokenBucket


def test_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(0.05)  # half a token
    assert bucket.take(0.1)
    assert not bucket.take(0.1)


def test_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=1000, burst=2, now=0.0)
    assert [bucket.take(100.0) for _ in range(3)] == [True, True, False]


def test_accounts_have_separate_buckets_and_idle_ones_are_forgotten() -> None:
    buckets = AccountBuckets(rate=1, burst=1)
    a, b = Address("0x" + "aa" * 20), Address("0x" + "bb" * 20)
    assert buckets.take(a, 0.0) and not buckets.take(a, 0.0)
    assert buckets.take(b, 0.0)
    buckets.forget_idle(10.0)
    assert buckets._buckets == {}
