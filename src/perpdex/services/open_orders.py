"""The open orders of a set of books: what rests, then what is held, with the signed order
each came from. The engine's books in the embedded node, a replica's in cluster mode."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from perpdex.core.eip712 import Eip712Domain, SignedOrder
from perpdex.core.types import Address, MarketId, Size
from perpdex.engine.commands import NewOrder
from perpdex.engine.matching import MatchingEngine
from perpdex.settlement.payload import order_from_payload

Books = Mapping[MarketId, MatchingEngine]


def open_terms(
    books: Books, accounts: Iterable[Address] | None = None
) -> list[tuple[NewOrder, int]]:
    """The terms and open size of every resting order, then every held trigger order,
    market by market, or of those of ``accounts``."""
    found: list[tuple[NewOrder, int]] = []
    owners = None if accounts is None else sorted(accounts)
    for book in books.values():
        resting = (
            book.resting_orders()
            if owners is None
            else [order for account in owners for order in book.orders_of(account)]
        )
        held = (
            book.held.in_id_order()
            if owners is None
            else [order for account in owners for order in book.held_of(account)]
        )
        found += [(order.command, order.remaining) for order in resting]
        found += [(order, book.held.open[order.order_id]) for order in held]
    return found


def open_orders(books: Books, domain: Eip712Domain) -> list[tuple[NewOrder, SignedOrder, Size]]:
    """Every resting and held order with its signed order (from its payload) and open
    size (a held trigger order's whole size)."""
    return [
        (terms, order_from_payload(terms.payload, domain), Size(size))
        for terms, size in open_terms(books)
    ]
