"""The worker verifier gives exactly the inline verifier's answers, from real processes."""

import asyncio
import multiprocessing
import os
import signal

from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    UnixTime,
    sign_order,
)
from perpdex.core.signing import MAX_S, Signature, SigningKey
from perpdex.core.types import Address, MarginMode, MarketId, Price, Size, TimeInForce
from perpdex.gateway.verify import InlineVerifier, Unverified, WorkerVerifier

DOMAIN = Eip712Domain(ChainId(31337), Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
TRADER = SigningKey(bytes(31) + b"\x01")
STRANGER = SigningKey(bytes(31) + b"\x02")
SECP256K1_P = 2**256 - 2**32 - 977


def order(nonce: int) -> Order:
    return Order(
        trader=TRADER.address,
        market=MarketId(0),
        is_buy=nonce % 2 == 0,
        size=Size(1_000),
        limit_price=Price(1_000 + nonce),
        max_fee_ppm=FeePpm(500),
        margin_mode=MarginMode.CROSS,
        time_in_force=TimeInForce.GTC,
        reduce_only=False,
        expiry=UnixTime(2_000_000_000),
        nonce=Nonce(nonce),
    )


def _off_curve_r() -> int:
    """An ``r`` that is no point's x-coordinate: ``r^3 + 7`` is not a square mod p."""
    r = 1
    while pow(r**3 + 7, (SECP256K1_P - 1) // 2, SECP256K1_P) != SECP256K1_P - 1:
        r += 1
    return r


def mixed(count: int) -> list[Unverified]:
    """Signed by the trader, by a stranger, and recovering no key at all, in turn."""
    items: list[Unverified] = []
    for nonce in range(count):
        terms = order(nonce)
        if nonce % 3 == 0:
            items.append((terms, sign_order(terms, TRADER, DOMAIN).signature))
        elif nonce % 3 == 1:
            stranger = sign_order(terms, TRADER, DOMAIN).signature
            forged = STRANGER.sign_digest(DOMAIN.digest(terms))
            assert forged != stranger
            items.append((terms, forged))
        else:
            items.append((terms, Signature(v=27, r=_off_curve_r(), s=MAX_S)))
    return items


def test_worker_answers_equal_inline_answers_across_concurrent_callers() -> None:
    calls = [mixed(7)[i::7] for i in range(7)] + [mixed(150)]

    async def run() -> None:
        inline = InlineVerifier(DOMAIN)
        expected = [await inline.verify(items) for items in calls]
        verifier = WorkerVerifier(DOMAIN, 2)
        try:
            answers = await asyncio.gather(*(verifier.verify(items) for items in calls))
        finally:
            verifier.close()
        assert answers == expected
        flat = [result for results in expected for result in results]
        assert sum(result is not None for result in flat) == sum(
            terms.nonce % 3 == 0 for items in calls for terms, _ in items
        )

    asyncio.run(run())


def test_a_dead_worker_leaves_no_order_unanswered() -> None:
    items = mixed(30)

    async def run() -> None:
        expected = await InlineVerifier(DOMAIN).verify(items)
        verifier = WorkerVerifier(DOMAIN, 1)
        try:
            assert await verifier.verify(items) == expected
            (worker,) = multiprocessing.active_children()
            assert worker.pid is not None
            os.kill(worker.pid, signal.SIGKILL)
            worker.join()
            # in flight when the worker died, or sent after: answered on the loop
            assert await verifier.verify(items) == expected
            assert await verifier.verify(items) == expected
        finally:
            verifier.close()

    asyncio.run(run())


def test_close_ends_the_workers() -> None:
    async def run() -> None:
        verifier = WorkerVerifier(DOMAIN, 2)
        assert len(multiprocessing.active_children()) == 2
        assert await verifier.verify(mixed(3)) == await InlineVerifier(DOMAIN).verify(mixed(3))
        verifier.close()
        assert multiprocessing.active_children() == []

    asyncio.run(run())
