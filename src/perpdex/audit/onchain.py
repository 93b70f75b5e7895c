"""What the Exchange says became of fills: every ``Filled`` and ``FillRejected`` event from
the deployment's first block up to a fixed block, in chain order (block, then log index:
a batch's events come in the order of its fills)."""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract
from web3.types import EventData

from perpdex.risk.indexer import BLOCKS_PER_QUERY
from perpdex.settlement.outcomes import contract_reject_codes


@dataclass(frozen=True, slots=True)
class ChainOutcome:
    block: int
    log_index: int
    tx: str
    maker_hash: str
    taker_hash: str
    price: int | None
    """None for a rejected fill (``FillRejected`` names only the orders and the reason)."""
    size: int | None
    reason: str | None
    """The ``REJECT_*`` name of a rejected fill; None for a settled one."""

    @property
    def settled(self) -> bool:
        return self.reason is None


def read_outcomes(exchange: Contract, first_block: int, last_block: int) -> list[ChainOutcome]:
    reasons = contract_reject_codes(exchange)
    found: list[ChainOutcome] = []
    for start in range(first_block, last_block + 1, BLOCKS_PER_QUERY):
        end = min(start + BLOCKS_PER_QUERY - 1, last_block)
        for log in exchange.events.Filled().get_logs(from_block=start, to_block=end):
            args = log["args"]
            found.append(_outcome(log, int(args["price"]), int(args["size"]), None))
        for log in exchange.events.FillRejected().get_logs(from_block=start, to_block=end):
            found.append(_outcome(log, None, None, reasons[int(log["args"]["reason"])]))
    return sorted(found, key=lambda o: (o.block, o.log_index))


def _outcome(
    log: EventData, price: int | None, size: int | None, reason: str | None
) -> ChainOutcome:
    args = log["args"]
    return ChainOutcome(
        block=int(log["blockNumber"]),
        log_index=int(log["logIndex"]),
        tx=log["transactionHash"].to_0x_hex(),
        maker_hash="0x" + bytes(args["maker_hash"]).hex(),
        taker_hash="0x" + bytes(args["taker_hash"]).hex(),
        price=price,
        size=size,
        reason=reason,
    )
