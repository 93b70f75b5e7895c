"""What the taking bots share: their own fills followed from the account channel, the index
price read through the SDK's chain reader, and IOC orders limited ``slippage_ppm`` from it,
counted (sent, refused by the gateway, unanswered: the node was down or went down)."""

from __future__ import annotations

import asyncio

from perpdex.bots.fills import OwnFills
from perpdex.chain.deployment import ListedMarket
from perpdex.core.slippage import worst_price
from perpdex.core.types import Price, Side, Size, TimeInForce
from perpdex.core.units import from_price_units, from_size_units
from perpdex.sdk.chain_client import ChainClient
from perpdex.sdk.client import Client
from perpdex.sdk.gateway_errors import GatewayError


class IocBot:
    """A bot trading with IOC orders; a subclass says what to trade in :meth:`_trade`."""

    def __init__(self, client: Client, market: ListedMarket, slippage_ppm: int) -> None:
        self.client = client
        self.market = market
        self.slippage_ppm = slippage_ppm
        self.fills = OwnFills(market.symbol)
        self.sent = 0
        self.refused = 0
        self.unanswered = 0

    async def run(self) -> None:
        """Follow the bot's fills and trade until cancelled."""
        follower = asyncio.create_task(self.fills.follow(await self.client.account()))
        try:
            await self._trade(await self.client.chain())
        finally:
            follower.cancel()

    async def _trade(self, chain: ChainClient) -> None:
        raise NotImplementedError

    async def _index(self, chain: ChainClient) -> Price:
        return await asyncio.to_thread(chain.mark_price, self.market)

    async def _take(self, side: Side, size: Size, index: Price) -> None:
        """One IOC of ``size`` at most ``slippage_ppm`` worse than ``index``."""
        limit = worst_price(index, side, self.slippage_ppm, self.market.tick_size)
        self.sent += 1
        try:
            await self.client.place(
                self.market.symbol,
                side,
                from_size_units(size),
                from_price_units(limit),
                time_in_force=TimeInForce.IOC,
            )
        except GatewayError:
            self.refused += 1
        except ConnectionError:  # the SDK reconnects; the next order goes through
            self.unanswered += 1
