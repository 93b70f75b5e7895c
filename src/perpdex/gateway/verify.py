"""Order signature checks off the engine's path: inline, or in worker processes.

:class:`InlineVerifier` runs ``verify_order`` (coincurve, about 40 us) on the event loop.
:class:`ProcessVerifier` sends the orders of every frame that arrived in one turn of the
event loop to a pool of worker processes in one message, so the loop only pays for
pickling while the curve work runs on other cores. Threads would not help: measured on
this code, two threads verify no faster than one (the recovery holds the GIL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

from perpdex.core.eip712 import Eip712Domain, Order, SignedOrder, verify_order
from perpdex.core.signing import InvalidSignatureError, Signature

Unverified = tuple[Order, Signature]
Verified = SignedOrder | None  # None: not signed by the order's trader


class Verifier(Protocol):
    async def verify(self, items: Sequence[Unverified]) -> list[Verified]: ...

    def close(self) -> None: ...


def verify_all(domain: Eip712Domain, items: Sequence[Unverified]) -> list[Verified]:
    results: list[Verified] = []
    for order, signature in items:
        try:
            results.append(verify_order(order, signature, domain))
        except InvalidSignatureError:
            results.append(None)
    return results


class InlineVerifier:
    def __init__(self, domain: Eip712Domain) -> None:
        self._domain = domain

    async def verify(self, items: Sequence[Unverified]) -> list[Verified]:
        return verify_all(self._domain, items)

    def close(self) -> None:
        pass


class ProcessVerifier:
    """``workers`` processes; the orders of one event-loop turn travel as one batch."""

    def __init__(self, domain: Eip712Domain, workers: int) -> None:
        self._domain = domain
        self._pool = ProcessPoolExecutor(workers)
        self._pending: list[tuple[Sequence[Unverified], asyncio.Future[list[Verified]]]] = []

    async def verify(self, items: Sequence[Unverified]) -> list[Verified]:
        if not items:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Verified]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._ship)
        self._pending.append((items, future))
        return await future

    def _ship(self) -> None:
        batch, self._pending = self._pending, []
        flat = [item for items, _ in batch for item in items]
        shipped = asyncio.get_running_loop().run_in_executor(
            self._pool, verify_all, self._domain, flat
        )
        shipped.add_done_callback(lambda done: _split(done, batch))

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def _split(
    done: asyncio.Future[list[Verified]],
    batch: list[tuple[Sequence[Unverified], asyncio.Future[list[Verified]]]],
) -> None:
    error = done.exception()
    results = [] if error is not None else done.result()
    at = 0
    for items, future in batch:
        part = results[at : at + len(items)]
        at += len(items)
        if future.done():  # its caller went away
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(part)
