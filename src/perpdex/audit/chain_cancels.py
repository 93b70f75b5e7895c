"""Cancels the journal blames on the chain: every order a ``ChainCancel`` says its trader
closed on chain (reason ``cancelled_on_chain``) must have been: an ``OrderCancelled`` of its
nonce, or a ``NonceFloorRaised`` past it, by its trader. Otherwise the operator pulled a
trader's order off the book and blamed the trader.

The closures are read after the journal, so a cancel journaled just before the audit
finds its closure; an order named by its engine id is the signed order its id carried
last (an amend's replaces it: its nonce is the one the trader would close).
"""

from __future__ import annotations

from perpdex.audit.findings import Check, Discrepancy
from perpdex.audit.names import OrderNames
from perpdex.audit.onchain import NonceClosures
from perpdex.core.types import MarketId, OrderId
from perpdex.engine.commands import Amend, ChainCancel, Command, NewOrder
from perpdex.engine.errors import CancelReason
from perpdex.settlement.payload import order_of_payload


class ChainCancelCheck:
    def __init__(self, names: OrderNames) -> None:
        self._names = names
        self._payloads: dict[tuple[MarketId, OrderId], bytes] = {}
        self._claims: list[tuple[int, bytes]] = []
        self.checked = 0

    def see(self, seq: int, command: Command) -> None:
        if isinstance(command, NewOrder | Amend):
            if command.payload:
                self._payloads[(command.market, command.order_id)] = command.payload
        elif isinstance(command, ChainCancel) and command.reason is CancelReason.ON_CHAIN:
            for named in command.orders:
                payload = self._payloads.get(named)
                if payload is not None:
                    self._claims.append((seq, payload))

    def end(self, closures: NonceClosures) -> list[Discrepancy]:
        found = []
        for seq, payload in self._claims:
            try:
                order = order_of_payload(payload)
            except (ValueError, KeyError):
                continue  # not a signed order: nothing the chain could have closed
            self.checked += 1
            if not closures.closed(order.trader, order.nonce):
                found.append(
                    Discrepancy(
                        Check.CHAIN_CANCEL,
                        seq,
                        f"cancelled as closed on chain by its trader {order.trader}, who never"
                        f" cancelled nonce {order.nonce} nor raised the nonce floor past it",
                        self._names.hash_of(payload),
                    )
                )
        return found
