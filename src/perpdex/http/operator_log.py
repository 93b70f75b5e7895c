"""What an operator watches, as the node observes it, kept in memory: the settlement
runner's batches and refused fills, and the node keeper's actions (liquidation steps,
deleveragings, funding posts, oracle pushes). Bounded (the newest :data:`KEPT` of each
kind) and lost on a restart: it is a window for the dashboard, not a record (the chain
and the journal are the record).

Every method runs on the event loop; the keeper's worker threads hand their actions over
with ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Final, Literal

from perpdex.core.types import Address, MarketId, Price, Size
from perpdex.keeper.funding import Posted
from perpdex.keeper.liquidator import Deleveraged, Liquidated
from perpdex.keeper.oracle_pusher import Pushed
from perpdex.keeper.runner import KeeperAction
from perpdex.settlement.outcomes import SettlementReport

KEPT: Final = 500

ActionKind = Literal["liquidation", "deleverage", "funding", "oracle"]


@dataclass(frozen=True, slots=True)
class Batch:
    """One mined ``settle`` transaction."""

    time_ms: int
    tx_hash: str
    block: int
    fills: int
    settled: int
    gas_used: int


@dataclass(frozen=True, slots=True)
class RefusedFill:
    time_ms: int
    market: MarketId
    price: Price
    size: Size
    maker: Address
    taker: Address
    reason: str
    tx_hash: str | None


@dataclass(frozen=True, slots=True)
class KeeperRecord:
    time_ms: int
    kind: ActionKind
    market: MarketId
    tx_hash: str
    block: int
    trader: Address | None = None
    counterparty: Address | None = None
    rate: int | None = None
    """A funding post's rate (FUNDING_RATE_SCALE)."""
    price: Price | None = None
    """A funding post's index price, an oracle push's price."""


class OperatorLog:
    def __init__(self) -> None:
        self.batches: deque[Batch] = deque(maxlen=KEPT)
        self.refused: deque[RefusedFill] = deque(maxlen=KEPT)
        self.keeper: deque[KeeperRecord] = deque(maxlen=KEPT)
        self.refusals: Counter[str] = Counter()
        """Refused fills by reason since the node started."""
        self.keeper_actions: Counter[str] = Counter()
        self.settle_transactions = 0
        self.settle_gas = 0
        self.settled_fills = 0

    def settlement(self, report: SettlementReport) -> None:
        now = _now_ms()
        for tx in report.transactions:
            self.settle_transactions += 1
            self.settle_gas += tx.gas_used
            self.settled_fills += tx.settled
            self.batches.append(Batch(now, tx.tx_hash, tx.block, tx.fills, tx.settled, tx.gas_used))
        for refused in report.rejected:
            match = refused.match
            self.refusals[refused.reason.value] += 1
            self.refused.append(
                RefusedFill(
                    now,
                    match.maker.order.market,
                    match.price,
                    match.size,
                    match.maker.order.trader,
                    match.taker.order.trader,
                    refused.reason.value,
                    refused.tx_hash,
                )
            )

    def keeper_action(self, action: KeeperAction) -> None:
        record = _record(action)
        self.keeper_actions[record.kind] += 1
        self.keeper.append(record)


def _record(action: KeeperAction) -> KeeperRecord:
    now = _now_ms()
    match action:
        case Liquidated(target=target, step=step):
            return KeeperRecord(
                now, "liquidation", target.market, _hex(step.tx_hash), step.block, target.trader
            )
        case Deleveraged(target=target, counterparty=counterparty, step=step):
            return KeeperRecord(
                now,
                "deleverage",
                target.market,
                _hex(step.tx_hash),
                step.block,
                target.trader,
                counterparty,
            )
        case Posted(market=market, rate=rate, index=index, step=step):
            return KeeperRecord(
                now, "funding", market, _hex(step.tx_hash), step.block, rate=rate, price=index
            )
        case Pushed(market=market, price=price, step=step):
            return KeeperRecord(now, "oracle", market, _hex(step.tx_hash), step.block, price=price)


def _hex(tx_hash: bytes) -> str:
    return "0x" + bytes(tx_hash).hex()


def _now_ms() -> int:
    return int(time.time() * 1000)
