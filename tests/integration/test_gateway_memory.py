"""The gateway's memory of orders does not grow with history: after the retry window it
holds the open orders only, and still refuses every replay (by nonce)."""

from __future__ import annotations

import asyncio
import time

from tests.integration.gateway_testing import (
    DOMAIN,
    MAKER,
    MARKETS,
    TAKER,
    error_of,
    place,
    placed,
    signed,
    url,
)
from websockets.asyncio.client import connect

from perpdex.engine.clock import ManualClock, WallClock
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventBus
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway.orders import RETRY_WINDOW_S
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import AllowAll
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway

FILLS = 200
RESTING = 3


def test_filled_orders_do_not_accumulate_in_the_gateway() -> None:
    clock = ManualClock(int(time.time() * 1000))
    bus = EventBus()
    gateway = Gateway(
        Sequencer(Engine(MARKETS, bus), WallClock()), bus, DOMAIN, risk=AllowAll(), clock=clock
    )

    async def scenario() -> None:
        async with GatewayServer(gateway) as server, connect(url(server)) as ws:
            for nonce in range(FILLS):  # each bid fills its ask whole: both orders close
                for order in (
                    signed(MAKER, nonce, is_buy=False),
                    signed(TAKER, nonce, is_buy=True),
                ):
                    await placed(ws, order)
            for nonce in range(FILLS, FILLS + RESTING):
                await placed(ws, signed(MAKER, nonce, is_buy=False, price=2000))
            held = len(gateway.registry)
            gateway.tick()  # as the server's ticker does: the window starts here

            clock.time += (RETRY_WINDOW_S + 1) * 1000
            gateway.tick()

            assert held == 2 * FILLS + RESTING  # the closed ones are kept for retries a while
            assert len(gateway.registry) == RESTING  # then only the open orders, whatever FILLS
            assert gateway.registry.nonces.runs(MAKER.address) == 1
            for order in (signed(MAKER, 0, is_buy=False), signed(TAKER, FILLS - 1, is_buy=True)):
                assert (await error_of(ws, place(order))).code is ErrorCode.REPLAYED

    asyncio.run(scenario())
