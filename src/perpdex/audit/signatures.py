"""Orders the journal holds that no trader signed: every ``NewOrder`` must carry its signed
order with a signature by the trader it names, and an ``Amend`` with a new signed order
must be signed by the same trader as the order it changes.

The chain refuses to settle a fill of an unsigned order, but the engine matches it first:
an order the operator (or whoever could publish to the engine's command stream) made up
takes a real trader's resting order off the book, and the trader meets a refused fill
instead of the trade its order was waiting for. The replay and the reference matcher would
both run such an order as the engine did; this check is the one that says nobody signed it.
It applies the engine shard's own rules (``perpdex.cluster.signed_terms``) to the signer;
the terms the journal states beside it are the price-time priority check's to judge.
"""

from __future__ import annotations

from perpdex.audit.findings import Check, Discrepancy
from perpdex.audit.names import OrderNames
from perpdex.cluster.signed_terms import UnsignedCommandError, check_amend_signer, signed_order
from perpdex.core.eip712 import Eip712Domain
from perpdex.core.types import Address, MarketId, OrderId
from perpdex.engine.commands import Amend, Command, NewOrder


class SignatureCheck:
    def __init__(self, domain: Eip712Domain, names: OrderNames) -> None:
        self._domain = domain
        self._names = names
        self._traders: dict[tuple[MarketId, OrderId], Address] = {}
        self.checked = 0
        self.found: list[Discrepancy] = []

    def see(self, seq: int, command: Command) -> None:
        if isinstance(command, NewOrder):
            trader = self._signer(seq, command.order_id, command.payload, "")
            if trader is not None:
                self._traders[(command.market, command.order_id)] = trader
        elif isinstance(command, Amend) and command.payload:
            self._amend(seq, command)

    def _amend(self, seq: int, amend: Amend) -> None:
        trader = self._signer(seq, amend.order_id, amend.payload, "the amend of ")
        if trader is None:
            return
        owner = self._traders.get((amend.market, amend.order_id))
        try:
            check_amend_signer(f"the amend of order #{amend.order_id}", trader, owner)
        except UnsignedCommandError as error:
            self._fail(seq, amend.payload, str(error))

    def _signer(self, seq: int, order_id: OrderId, payload: bytes, prefix: str) -> Address | None:
        """The trader who signed ``payload``; None (and a discrepancy) if nobody did. The
        order is named (its hash computed) only then."""
        if payload:
            self.checked += 1
        try:
            return signed_order(payload, self._domain).order.trader
        except UnsignedCommandError as error:
            name = prefix + self._names.name(order_id, payload)
            self._fail(seq, payload, f"{name} {error}")
            return None

    def _fail(self, seq: int, payload: bytes, detail: str) -> None:
        self.found.append(Discrepancy(Check.SIGNATURE, seq, detail, self._names.hash_of(payload)))
