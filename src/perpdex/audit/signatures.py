"""Orders the journal holds that no trader signed: every ``NewOrder`` must carry its signed
order with a signature by the trader it names, and an ``Amend`` with a new signed order
must be signed by the same trader as the order it changes.

The chain refuses to settle a fill of an unsigned order, but the engine matches it first:
an order the operator (or whoever could publish to the engine's command stream) made up
takes a real trader's resting order off the book, and the trader meets a refused fill
instead of the trade its order was waiting for. The replay and the reference matcher would
both run such an order as the engine did; this check is the one that says nobody signed it.
"""

from __future__ import annotations

from perpdex.audit.findings import Check, Discrepancy
from perpdex.audit.names import OrderNames
from perpdex.core.eip712 import Eip712Domain
from perpdex.core.types import Address, MarketId, OrderId
from perpdex.engine.commands import Amend, Command, NewOrder
from perpdex.settlement.payload import order_from_payload


class SignatureCheck:
    def __init__(self, domain: Eip712Domain, names: OrderNames) -> None:
        self._domain = domain
        self._names = names
        self._traders: dict[tuple[MarketId, OrderId], Address] = {}
        self.checked = 0
        self.found: list[Discrepancy] = []

    def see(self, seq: int, command: Command) -> None:
        if isinstance(command, NewOrder):
            self._new_order(seq, command)
        elif isinstance(command, Amend) and command.payload:
            self._amend(seq, command)

    def _new_order(self, seq: int, order: NewOrder) -> None:
        name = self._names.name(order.order_id, order.payload)
        if not order.payload:
            self._fail(seq, order.payload, f"{name} carries no signed order")
            return
        trader = self._signer(seq, order.payload, name)
        if trader is not None:
            self._traders[(order.market, order.order_id)] = trader

    def _amend(self, seq: int, amend: Amend) -> None:
        name = self._names.name(amend.order_id, amend.payload)
        trader = self._signer(seq, amend.payload, f"the amend of {name}")
        owner = self._traders.get((amend.market, amend.order_id))
        if trader is not None and owner is not None and trader != owner:
            self._fail(
                seq,
                amend.payload,
                f"the amend of {name} is signed by {trader}, the order is {owner}'s",
            )

    def _signer(self, seq: int, payload: bytes, name: str) -> Address | None:
        """The trader who signed ``payload``; None (and a discrepancy) if nobody did."""
        self.checked += 1
        try:
            return order_from_payload(payload, self._domain).order.trader
        except (ValueError, KeyError) as error:
            self._fail(seq, payload, f"{name} is not signed by its trader: {error}")
            return None

    def _fail(self, seq: int, payload: bytes, detail: str) -> None:
        self.found.append(Discrepancy(Check.SIGNATURE, seq, detail, self._names.hash_of(payload)))
