"""The params task applies a queued change exactly while it is due: not before its
effective time, not after it lapsed, once."""

from __future__ import annotations

from dataclasses import dataclass, field

from perpdex.core.types import MarketId
from perpdex.keeper.chain import Step
from perpdex.keeper.param_changes import ParamsApplier

GRACE = 604_800
BTC, ETH = MarketId(0), MarketId(1)


@dataclass
class Chain:
    """Markets' queue as the keeper reads it: apply clears a change, as the contract does."""

    now: int
    pending: dict[MarketId, int]
    applied: list[MarketId] = field(default_factory=list)

    def block_timestamp(self) -> int:
        return self.now

    def params_grace(self) -> int:
        return GRACE

    def pending_params_at(self, market: MarketId) -> int:
        return self.pending.get(market, 0)

    def apply_params(self, market: MarketId) -> Step:
        self.applied.append(market)
        self.pending[market] = 0
        return Step(1, b"")


def test_a_change_is_applied_once_when_due() -> None:
    chain = Chain(now=1_000, pending={BTC: 1_001})
    applier = ParamsApplier(chain, [BTC, ETH])
    assert applier.tick() == []  # one second early
    chain.now = 1_001
    assert applier.tick() == [BTC]
    assert applier.tick() == []
    assert chain.applied == [BTC]


def test_a_lapsed_change_is_left_alone() -> None:
    chain = Chain(now=1_000 + GRACE + 1, pending={BTC: 1_000, ETH: 1_000 + GRACE + 1})
    assert ParamsApplier(chain, [BTC, ETH]).tick() == [ETH]
