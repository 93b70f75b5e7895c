"""An order the gateway verified is not verified again by this process: its fills are read
back from their payloads by the position manager, the account log and settlement, and each
read would otherwise recover the signer the gateway (or its worker process) already did."""

from __future__ import annotations

import asyncio

import pytest
from tests.integration.gateway_testing import DOMAIN, MAKER, placed, running_gateway, signed, url
from tests.unit.settlement.test_batcher_payload import counting_recoveries
from websockets.asyncio.client import connect

from perpdex.settlement.payload import order_from_payload, order_payload


def test_a_placed_order_reads_back_without_a_second_recovery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = signed(MAKER, 9_001, is_buy=False)

    async def place() -> None:
        async with running_gateway() as server, connect(url(server)) as ws:
            await placed(ws, order)

    asyncio.run(place())
    recovered = counting_recoveries(monkeypatch)
    assert order_from_payload(order_payload(order), DOMAIN) == order
    assert recovered == []
