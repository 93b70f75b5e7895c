"""Settlement outcomes as JetStream messages: what became of each engine fill on chain.

The settlement process is the only writer of ``<prefix>.out.<shard>``; the position
manager's processes (risk, gateways) read it to drop a fill from the pending ones once it
settled or was refused. Every fill has exactly one outcome, so its key (maker hash, taker
hash) is the message id: an outcome published again after a crash of the settlement
process is stored once.

The fill travels whole (both signed orders as the engine's payloads, price and size): a
reader that has not seen the fill, or no longer holds it, still knows what settled.
"""

from __future__ import annotations

import msgspec

from perpdex.core.eip712 import Eip712Domain
from perpdex.core.types import Address, Price, Size
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import FillOutcome, Rejected, RejectReason, Settled, TxHash
from perpdex.settlement.payload import order_from_payload, order_payload


class OutcomeMessage(msgspec.Struct, frozen=True, array_like=True):
    maker: bytes
    """The maker's signed order as the engine's payload."""
    taker: bytes
    price: int
    size: int
    tx_hash: str | None
    block: int | None
    """Settled: the block of the transaction; None for a rejection."""
    earlier: bool = False
    reason: str | None = None
    """Rejected: the reason's name (``RejectReason``); None for a settled fill."""
    account: str | None = None
    cause: str | None = None


def outcome_message_id(outcome: FillOutcome) -> str:
    match = outcome.match
    return f"out-{match.maker.order_hash.hex()}{match.taker.order_hash.hex()}"


def encode_outcome(outcome: FillOutcome) -> bytes:
    match = outcome.match
    settled = outcome if isinstance(outcome, Settled) else None
    rejected = outcome if isinstance(outcome, Rejected) else None
    message = OutcomeMessage(
        maker=order_payload(match.maker),
        taker=order_payload(match.taker),
        price=match.price,
        size=match.size,
        tx_hash=outcome.tx_hash,
        block=None if settled is None else settled.block,
        earlier=settled is not None and settled.earlier,
        reason=None if rejected is None else rejected.reason.value,
        account=None if rejected is None else rejected.account,
        cause=None if rejected is None else rejected.cause,
    )
    return msgspec.msgpack.encode(message)


def decode_outcome(data: bytes, domain: Eip712Domain) -> FillOutcome:
    """Raises ``msgspec.DecodeError`` or ``ValueError`` on a message that is not one."""
    message = msgspec.msgpack.decode(data, type=OutcomeMessage)
    match = Match(
        maker=order_from_payload(message.maker, domain),
        taker=order_from_payload(message.taker, domain),
        price=Price(message.price),
        size=Size(message.size),
    )
    tx_hash = None if message.tx_hash is None else TxHash(message.tx_hash)
    if message.reason is None:
        if message.block is None or tx_hash is None:
            raise ValueError("a settled outcome names its transaction and block")
        return Settled(match, tx_hash, message.block, earlier=message.earlier)
    account = None if message.account is None else Address(message.account)
    return Rejected(match, RejectReason(message.reason), account, tx_hash, message.cause)
