"""An engine shard's second look at what it is asked to match: every order's terms must be
the ones its trader signed.

The gateways verify each signature before they publish, and NATS permissions keep other
processes off the command subjects (docs/deployment.md). This check is for the day those
fail: an order nobody signed would rest on the book and be matched, taking real traders'
orders with it, and only then be refused by settlement and the contract. The shard drops
such a command before it is journaled, so the journal, its replicas and every replay hold
only what traders signed (``perpdex audit`` names any that got in anyway).

Checked: a ``NewOrder``'s trader, market, side, limit price, size, time in force,
reduce-only flag and trigger against its signed order; an ``Amend``'s price and size
against the replacing signed order, signed by the trader of the order it changes. Not
checked: the engine's expiry clock time (the gateway derives it from the signed expiry and
the chain's clock; the contract refuses a fill past the signed expiry), and cancels, which
carry no signature of their own on the wire.
"""

from __future__ import annotations

from collections.abc import Callable

from perpdex.core.eip712 import Eip712Domain, SignedOrder
from perpdex.core.types import Address, MarketId, OrderId
from perpdex.engine.commands import Amend, Command, NewOrder
from perpdex.settlement.payload import order_from_payload

Owner = Callable[[MarketId, OrderId], Address | None]
"""The trader of an open order (None: no such order open)."""


class UnsignedCommandError(ValueError):
    """A command whose terms are not what its trader signed."""


def check_signed(command: Command, domain: Eip712Domain, owner: Owner) -> None:
    """Raises :class:`UnsignedCommandError` unless ``command``'s terms are signed by its
    trader; commands that carry no terms of a trader pass."""
    if isinstance(command, NewOrder):
        _check_new_order(command, domain)
    elif isinstance(command, Amend):
        _check_amend(command, domain, owner)


def _check_new_order(command: NewOrder, domain: Eip712Domain) -> None:
    order = _signed(command.payload, domain, f"order #{command.order_id}").order
    stated = (
        command.account.lower(),
        command.market,
        command.side,
        command.price,
        command.size,
        command.tif,
        command.reduce_only,
        command.trigger_price,
        command.trigger,
    )
    signed = (
        order.trader.lower(),
        order.market,
        order.side,
        order.limit_price,
        order.size,
        order.time_in_force,
        order.reduce_only,
        order.trigger_price,
        order.trigger_direction,
    )
    if stated != signed:
        raise UnsignedCommandError(
            f"order #{command.order_id} states {stated}, its trader signed {signed}"
        )


def _check_amend(command: Amend, domain: Eip712Domain, owner: Owner) -> None:
    name = f"the amend of order #{command.order_id}"
    order = _signed(command.payload, domain, name).order
    if (command.price, command.size) != (order.limit_price, order.size):
        raise UnsignedCommandError(
            f"{name} states price {command.price} size {command.size}, its trader signed"
            f" price {order.limit_price} size {order.size}"
        )
    check_amend_signer(name, order.trader, owner(command.market, command.order_id))


def check_amend_signer(name: str, signer: Address, owner: Address | None) -> None:
    """Raises :class:`UnsignedCommandError` if the amend ``name`` was signed by another
    trader than the ``owner`` of the order it changes (None: no such order known)."""
    if owner is not None and signer.lower() != owner.lower():
        raise UnsignedCommandError(f"{name} is signed by {signer}, the order is {owner}'s")


def signed_order(payload: bytes, domain: Eip712Domain) -> SignedOrder:
    """The signed order in ``payload``; :class:`UnsignedCommandError` if it holds none signed
    by its trader, its message what is wrong, to follow the command's name ("carries no
    signed order", "is not signed by its trader: ...")."""
    if not payload:
        raise UnsignedCommandError("carries no signed order")
    try:
        return order_from_payload(payload, domain)
    except (ValueError, KeyError) as error:
        raise UnsignedCommandError(f"is not signed by its trader: {error}") from error


def _signed(payload: bytes, domain: Eip712Domain, name: str) -> SignedOrder:
    try:
        return signed_order(payload, domain)
    except UnsignedCommandError as error:
        raise UnsignedCommandError(f"{name} {error}") from error.__cause__
