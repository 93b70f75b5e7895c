"""The position manager's sync reads each block's prices once: it polls the chain five
times a second, and blocks come every second or so."""

from __future__ import annotations

import asyncio
from typing import cast

from perpdex.core.eip712 import ChainId, Eip712Domain
from perpdex.core.signing import SigningKey
from perpdex.core.types import MarketId, Price
from perpdex.risk.indexer import ChainIndexer, IndexedBlocks
from perpdex.risk.manager import PositionManager
from perpdex.risk.prices import PriceFeed, Quote

DOMAIN = Eip712Domain(ChainId(31337), SigningKey(b"\x09" * 32).address)


class Chain:
    """The head block, the indexer's calls and the price feed's, counted."""

    def __init__(self) -> None:
        self.head = 1
        self.price_reads: list[int] = []

    def latest(self) -> tuple[int, int]:
        return self.head, 0

    def poll(self, head: int) -> IndexedBlocks:
        return IndexedBlocks([], head)

    def read(self, block: int | None = None) -> dict[MarketId, Quote]:
        assert block is not None
        self.price_reads.append(block)
        return {MarketId(0): Quote(Price(100 + block), True, 200, 500)}


def test_each_block_is_priced_once() -> None:
    chain = Chain()
    pm = PositionManager(cast(ChainIndexer, chain), cast(PriceFeed, chain), DOMAIN)

    async def syncs(count: int) -> None:
        for _ in range(count):
            await pm.sync()

    asyncio.run(syncs(3))
    chain.head = 2
    asyncio.run(syncs(2))
    assert chain.price_reads == [1, 2]
    assert pm.quotes[MarketId(0)].price == 102
