"""Typed commands: the only input of the engine, and the content of the journal.

Commands are immutable. The sequencer stamps each with a sequence number and a time
before it reaches the engine, so the same list of commands always has the same effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from perpdex.core.types import (
    Address,
    ClientOrderId,
    MarketId,
    OrderHash,
    OrderId,
    Price,
    Side,
    Size,
    TriggerDirection,
)
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine.errors import CancelReason

NO_EXPIRY = 0
NO_TRIGGER_PRICE: Final = Price(0)  # the trigger price of a plain order


class StpMode(IntEnum):
    """What happens when a taker would trade against a resting order of its own account."""

    CANCEL_RESTING = 0
    CANCEL_TAKER = 1
    CANCEL_BOTH = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrder:
    """A limit order; a market order is an IOC whose ``price`` is the signed worst price.

    ``expiry`` is a clock time (0: never). ``payload`` is opaque to the engine (the signed
    order, or its hash): it is journaled and handed back in fill events. ``position`` is the
    account's signed position in this market, stamped by the sequencer for reduce-only
    orders only, so that replay takes the same decision.

    With ``trigger`` other than ``NONE`` it is a trigger order (stop-loss, take-profit):
    the engine holds it off the book until an ``IndexPrice`` of its market is at or above
    (``AT_OR_ABOVE``), or at or below (``AT_OR_BELOW``), ``trigger_price``, then enters it
    as a new order with the terms above.
    """

    market: MarketId
    order_id: OrderId
    account: Address
    side: Side
    price: Price
    size: Size
    tif: Tif = Tif.GTC
    client_id: ClientOrderId | None = None
    reduce_only: bool = False
    expiry: int = NO_EXPIRY
    stp: StpMode = StpMode.CANCEL_TAKER
    payload: bytes = b""
    position: int = 0
    trigger_price: Price = NO_TRIGGER_PRICE
    trigger: TriggerDirection = TriggerDirection.NONE


@dataclass(frozen=True, slots=True)
class Cancel:
    market: MarketId
    order_id: OrderId


@dataclass(frozen=True, slots=True)
class CancelByClientId:
    market: MarketId
    account: Address
    client_id: ClientOrderId


@dataclass(frozen=True, slots=True)
class CancelAll:
    """Cancel every order of ``account`` in ``market``."""

    market: MarketId
    account: Address


@dataclass(frozen=True, slots=True)
class CancelAccount:
    """Cancel every order of ``account`` in every market (the gateway sends it on disconnect)."""

    account: Address


@dataclass(frozen=True, slots=True, kw_only=True)
class Amend:
    """Change a resting order's price and/or total size.

    A smaller size at the same price keeps time priority; anything else cancels the order
    and re-enters it under the same id (it may then trade). ``payload`` replaces the stored
    one when not empty (a new price needs a new signature).
    """

    market: MarketId
    order_id: OrderId
    price: Price
    size: Size
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class SetDeadMan:
    """Arm or refresh (a heartbeat) the account's dead-man switch; ``deadline`` 0 disarms it.

    When the clock reaches ``deadline`` every order of the account, in every market, is
    cancelled.
    """

    account: Address
    deadline: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectedFill:
    """A fill the engine made that the chain will never settle, and the chain's reason."""

    market: MarketId
    price: Price
    size: Size
    taker_side: Side
    maker_account: Address
    taker_account: Address
    maker_hash: OrderHash
    taker_hash: OrderHash
    cause: str
    """The settlement's reason (a ``FillRejected`` code or a batcher reason), by name."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainCancel:
    """The chain closed these orders, or refused a fill of theirs: cancel what rests of them.

    Only the node submits it, from what it folded from the chain (an on-chain cancel, a
    raised nonce floor, a settlement outcome). ``orders`` are resolved against the book at
    that moment, as ``(market, order id)``, so a replay needs no chain; an order no longer
    resting is skipped. ``reason`` is ``CancelReason.ON_CHAIN``, ``FILL_REJECTED``,
    ``FEE_ABOVE_CAP``, ``REDUCE_ONLY_EXCEEDS_POSITION``, ``EXPIRES_ON_CHAIN`` or
    ``MARGIN_UNCOVERED`` (orders the chain would refuse to fill); with ``rejected`` the
    engine also reports the refused fill to both of its traders.
    """

    orders: tuple[tuple[MarketId, OrderId], ...]
    reason: CancelReason
    rejected: RejectedFill | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexPrice:
    """The market's index (oracle) price is now ``price``: held trigger orders it crosses
    are released (docs/engine.md, "Trigger orders").

    ``positions`` are the signed positions of the accounts whose held reduce-only orders
    it releases, ``(account, position)`` sorted by account, stamped by the sequencer as for
    a reduce-only ``NewOrder`` so that replay takes the same decisions.
    """

    market: MarketId
    price: Price
    positions: tuple[tuple[Address, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Tick:
    """Let time pass: fires due dead-man switches and removes expired orders."""


Command = (
    NewOrder
    | Cancel
    | CancelByClientId
    | CancelAll
    | CancelAccount
    | Amend
    | SetDeadMan
    | ChainCancel
    | IndexPrice
    | Tick
)


def market_order(
    *,
    market: MarketId,
    order_id: OrderId,
    account: Address,
    side: Side,
    worst_price: Price,
    size: Size,
    payload: bytes = b"",
) -> NewOrder:
    """A market order: takes what it can up to ``worst_price``, the rest is cancelled."""
    return NewOrder(
        market=market,
        order_id=order_id,
        account=account,
        side=side,
        price=worst_price,
        size=size,
        tif=Tif.IOC,
        payload=payload,
    )
