"""The oracle pusher: due points only, at the oracle's decimals, listeners told the block."""

from __future__ import annotations

from dataclasses import dataclass, field

from perpdex.core.types import MarketId, Price
from perpdex.keeper.chain import Step
from perpdex.keeper.oracle_pusher import OraclePusher
from perpdex.keeper.price_path import PricePoint

BTC, ETH = MarketId(0), MarketId(1)


@dataclass
class Chain:
    block: int = 10
    calls: list[tuple[str, MarketId, int]] = field(default_factory=list)

    def oracle_decimals(self, market: MarketId) -> int:
        return 8

    def set_answer(self, market: MarketId, answer: int) -> Step:
        self.block += 1
        self.calls.append(("set_answer", market, answer))
        return Step(self.block, b"")

    def record_price(self, market: MarketId) -> None:
        self.calls.append(("record_price", market, 0))


def test_pushes_the_latest_due_point_then_tells_listeners_then_records() -> None:
    chain, now, heard = Chain(), [0.0], []
    path = [PricePoint(0, Price(100)), PricePoint(1, Price(101)), PricePoint(2, Price(102))]
    pusher = OraclePusher(
        chain,
        {BTC: path, ETH: [PricePoint(5, Price(7))]},
        clock=lambda: now[0],
        listeners=[lambda block: heard.append((block, len(chain.calls)))],
    )
    assert [p.price for p in pusher.tick()] == [100]
    # the oracle has 8 decimals, prices 6: the answer is 100 times the price
    assert chain.calls == [("set_answer", BTC, 10_000), ("record_price", BTC, 0)]
    assert heard == [(11, 1)]  # told before the price is recorded
    now[0] = 2.5  # 101 was missed: only the newest price matters
    assert [p.price for p in pusher.tick()] == [102]
    now[0] = 9.0
    pushed = pusher.tick()  # BTC's path ended: it holds; ETH's point is due
    assert [(p.market, p.price) for p in pushed] == [(ETH, 7)]
    assert pusher.tick() == []
