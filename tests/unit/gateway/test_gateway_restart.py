"""A gateway built on an engine recovered from its journal takes over the resting orders
and still refuses replays of every order the engine accepted before the restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.gateway_testing import (
    DOMAIN,
    MAKER,
    MARKETS,
    TAKER,
    error_of,
    place,
    placed,
    running_gateway,
    signed,
    url,
)
from websockets.asyncio.client import connect

from perpdex.engine.clock import WallClock
from perpdex.engine.events import EventBus
from perpdex.engine.file_journal import FileJournal
from perpdex.engine.replay import recover
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import AllowAll
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway
from perpdex.services.engine import accepted_orders


def test_a_restarted_gateway_adopts_open_orders_and_refuses_replays(tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.bin"
    ask = signed(MAKER, 1, is_buy=False, size=2000)
    bid = signed(TAKER, 2, is_buy=True, size=1000)  # fills half the ask
    resting = signed(MAKER, 3, is_buy=False, price=1100)

    async def before() -> None:
        async with running_gateway(journal=journal_path) as server, connect(url(server)) as ws:
            for order in (ask, bid, resting):
                await placed(ws, order)

    async def after() -> None:
        bus = EventBus()
        journal = FileJournal(journal_path)
        engine, _ = recover(journal, MARKETS, bus)
        gateway = Gateway(Sequencer(engine, WallClock(), journal), bus, DOMAIN, risk=AllowAll())
        gateway.adopt_open_orders()
        gateway.remember_accepted(accepted_orders(journal_path, MARKETS, DOMAIN))
        open_hashes = {r.signed.order_hash: r.remaining for r in gateway.registry.open_orders()}
        assert open_hashes == {ask.order_hash: 1000, resting.order_hash: 1000}
        try:
            async with GatewayServer(gateway) as server, connect(url(server)) as ws:
                for order in (ask, bid, resting):  # the filled one too
                    assert (await error_of(ws, place(order))).code is ErrorCode.REPLAYED
                await placed(ws, signed(TAKER, 4, is_buy=True, price=1100, size=2000))
        finally:
            journal.close()
        # the adopted orders left the book through this gateway's records
        assert gateway.registry.open_orders() == []

    asyncio.run(before())
    asyncio.run(after())
