"""What the Exchange says became of fills: every ``Filled`` and ``FillRejected`` event from
the deployment's first block up to a fixed block, in chain order (block, then log index:
a batch's events come in the order of its fills)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.abi import event_abi_to_log_topic
from hexbytes import HexBytes
from web3.contract import Contract

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
    """Both events from raw ``eth_getLogs`` answers, their data words sliced by hand: web3's
    event decoding costs about a millisecond a log, which a million fills would feel."""
    reasons = contract_reject_codes(exchange)
    filled, rejected = (_topic(exchange, name) for name in ("Filled", "FillRejected"))
    found: list[ChainOutcome] = []
    for start in range(first_block, last_block + 1, BLOCKS_PER_QUERY):
        end = min(start + BLOCKS_PER_QUERY - 1, last_block)
        logs = exchange.w3.eth.get_logs(
            {
                "address": exchange.address,
                "fromBlock": start,
                "toBlock": end,
                "topics": [[HexBytes(filled), HexBytes(rejected)]],
            }
        )
        for log in logs:
            data = bytes(log["data"])
            word = [data[i : i + _WORD] for i in range(0, len(data), _WORD)]
            if bytes(log["topics"][0]) == filled:
                # market, maker_hash, taker_hash, price, size, maker_fee, taker_fee
                price, size, reason = _int(word[3]), _int(word[4]), None
            else:  # index, maker_hash, taker_hash, reason
                price, size, reason = None, None, reasons[_int(word[3])]
            found.append(
                ChainOutcome(
                    block=int(log["blockNumber"]),
                    log_index=int(log["logIndex"]),
                    tx="0x" + bytes(log["transactionHash"]).hex(),
                    maker_hash="0x" + word[1].hex(),
                    taker_hash="0x" + word[2].hex(),
                    price=price,
                    size=size,
                    reason=reason,
                )
            )
    return found


_WORD = 32


def _topic(exchange: Contract, name: str) -> bytes:
    (abi,) = [e for e in exchange.abi if e["type"] == "event" and e["name"] == name]
    return bytes(event_abi_to_log_topic(abi))


def _int(word: bytes) -> int:
    return int.from_bytes(word, "big")
