"""What the Exchange says: every ``Filled`` and ``FillRejected`` event from the deployment's
first block up to a fixed block, in chain order (block, then log index: a batch's events
come in the order of its fills), and the nonces traders closed themselves
(``OrderCancelled``, ``NonceFloorRaised``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from eth_utils.abi import event_abi_to_log_topic
from hexbytes import HexBytes
from web3.contract import Contract
from web3.types import LogReceipt

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


def _logs(
    exchange: Contract, names: tuple[str, ...], first_block: int, last_block: int
) -> Iterator[LogReceipt]:
    """The Exchange's ``names`` events as raw logs, in chain order, in pages of blocks."""
    topics = [HexBytes(_topic(exchange, name)) for name in names]
    for start in range(first_block, last_block + 1, BLOCKS_PER_QUERY):
        end = min(start + BLOCKS_PER_QUERY - 1, last_block)
        yield from exchange.w3.eth.get_logs(
            {"address": exchange.address, "fromBlock": start, "toBlock": end, "topics": [topics]}
        )


@dataclass
class NonceClosures:
    """What traders closed on chain themselves: nonces cancelled one by one, and floors."""

    cancelled: set[tuple[str, int]] = field(default_factory=set)
    """(trader, nonce): ``OrderCancelled``."""
    floors: dict[str, int] = field(default_factory=dict)
    """trader -> the highest ``NonceFloorRaised``: every nonce below it is closed."""

    def closed(self, trader: str, nonce: int) -> bool:
        return (trader.lower(), nonce) in self.cancelled or nonce < self.floors.get(
            trader.lower(), 0
        )


def read_closures(exchange: Contract, first_block: int, last_block: int) -> NonceClosures:
    closures = NonceClosures()
    cancelled = _topic(exchange, "OrderCancelled")
    for log in _logs(exchange, ("OrderCancelled", "NonceFloorRaised"), first_block, last_block):
        trader = "0x" + bytes(log["topics"][1])[12:].hex()
        first_word = _int(bytes(log["data"])[:_WORD])
        if bytes(log["topics"][0]) == cancelled:  # data: nonce, order_hash
            closures.cancelled.add((trader, first_word))
        else:  # data: nonce_floor
            closures.floors[trader] = max(closures.floors.get(trader, 0), first_word)
    return closures


def read_outcomes(exchange: Contract, first_block: int, last_block: int) -> list[ChainOutcome]:
    """Both events from raw ``eth_getLogs`` answers, their data words sliced by hand: web3's
    event decoding costs about a millisecond a log, which a million fills would feel."""
    reasons = contract_reject_codes(exchange)
    filled = _topic(exchange, "Filled")
    found: list[ChainOutcome] = []
    for log in _logs(exchange, ("Filled", "FillRejected"), first_block, last_block):
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
