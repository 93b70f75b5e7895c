"""What the chain says goes back to the engine (docs/architecture.md, "Refused before
matching"): the open orders the chain has made unfillable leave the book through journaled
``ChainCancel`` commands, the oracle price reaches the engine as ``IndexPrice``, and a fill
the chain refused is reported to both traders and ends the order at fault.

The reconciler decides from the position manager's fold of the chain and the engine's
books; it never touches either: its commands go to ``submit``, which is the sequencer in
the embedded node and the command stream in cluster mode, where the books are a replica's
(``perpdex risk``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

from perpdex.core.eip712 import Eip712Domain, Order, SignedOrder
from perpdex.core.types import Address, MarketId, OrderHash, OrderId, Side
from perpdex.engine.clock import WallClock
from perpdex.engine.commands import ChainCancel, IndexPrice, NewOrder, RejectedFill
from perpdex.engine.errors import CancelReason
from perpdex.engine.events import Event, Filled
from perpdex.gateway.risk import SETTLE_MARGIN_S
from perpdex.risk.manager import PositionManager
from perpdex.risk.terms import fee_refusal, resting_fee_ppm
from perpdex.services.open_orders import Books, open_orders, open_terms
from perpdex.settlement.fault import ChainView, at_fault
from perpdex.settlement.outcomes import Rejected
from perpdex.settlement.payload import order_hash_of_payload, order_of_payload

log = logging.getLogger(__name__)


class ChainReconciler:
    """``books`` returns the engine's books (None while no engine runs), ``pm`` the
    current position manager (None before the first), ``submit`` takes a command."""

    def __init__(
        self,
        domain: Eip712Domain,
        books: Callable[[], Books | None],
        pm: Callable[[], PositionManager | None],
        submit: Callable[[ChainCancel | IndexPrice], None],
    ) -> None:
        self._domain = domain
        self._books = books
        self._pm_or_none = pm
        self._submit = submit
        self._moved: set[tuple[Address, MarketId]] = set()  # see trim_reduce_only
        self._next_expiry_scan = 0.0  # see cancel_expiring_on_chain
        self.rejected_fills: Counter[str] = Counter()
        """Fills that will never settle, by the chain's or the batcher's reason."""

    def watch(self, pm: PositionManager) -> None:
        """Follow ``pm``'s fold: each change it reports reconciles the books."""
        pm.subscribe_nonces(self.cancel_closed_on_chain)
        pm.subscribe_fees(self.cancel_above_fee_cap)
        pm.subscribe_chain_ahead(self.cancel_expiring_on_chain)
        pm.subscribe_unbacked(self.cancel_unbacked)
        pm.subscribe_prices(self.feed_index)
        pm.subscribe_positions(self.follow_chain_positions)

    def on_engine_event(self, event: Event) -> None:
        """An engine fill moved both traders' positions: see :meth:`trim_reduce_only`."""
        if isinstance(event, Filled):
            self._moved.add((event.maker_account, event.market))
            self._moved.add((event.taker_account, event.market))

    def follow_chain_positions(self, moved: set[tuple[Address, MarketId]]) -> None:
        """Positions the chain moved (a liquidation step, a deleveraging, a fill the node
        learns of from the chain) are trimmed as the engine's fills are: a position it
        closed takes its attached take-profit and stop-loss with it at once, rather than
        when one fires for nothing to close."""
        self._moved |= moved
        self.trim_reduce_only()

    def trim_reduce_only(self) -> None:
        """After a request's fills or a chain fold that moved positions: cancel the
        resting reduce-only orders of the traders whose position moved which their
        position (with the fills not yet settled) no longer covers, oldest first kept.
        The engine sized each against the position when it arrived; another order of the
        trader or a liquidation may have shrunk or flipped it since, and the contract
        would skip such a fill (``REJECT_REDUCE_ONLY``). A position that moved to flat
        also takes its held reduce-only trigger orders (its take-profit and stop-loss,
        one of which may just have closed it) with it. Held ones larger than a position
        that shrank stay: the engine sizes them to the position when it releases them."""
        ready = self._ready()
        if not self._moved or ready is None:
            return
        books, pm = ready
        touched, self._moved = self._moved, set()
        orders: list[tuple[MarketId, OrderId]] = []
        attached: list[tuple[MarketId, OrderId]] = []
        for account, market in sorted(touched):
            book = books.get(market)
            if book is None:
                continue  # listed on chain, not served by this node
            position = pm.position(account, market)
            room = {Side.SELL: max(position, 0), Side.BUY: max(-position, 0)}
            for order in book.orders_of(account):
                terms = order.command
                if not terms.reduce_only:
                    continue
                if order.remaining > room[terms.side]:
                    orders.append((market, terms.order_id))
                else:
                    room[terms.side] -= order.remaining
            if position == 0:
                attached += [
                    (market, held.order_id) for held in book.held_of(account) if held.reduce_only
                ]
        self._cancel_open(tuple(orders), CancelReason.REDUCE_ONLY_EXCEEDS_POSITION)
        self._cancel_open(tuple(attached), CancelReason.POSITION_CLOSED)

    def feed_index(self) -> None:
        """Feed each market's oracle price, as the contract reads it, to the engine as an
        ``IndexPrice`` (journaled) when it differs from the engine's: crossed trigger
        orders are released. A stale price is not fed (the contract would not settle
        on it); fills of the releases then trim and close attached orders as any fills."""
        ready = self._ready()
        if ready is None:
            return
        books, pm = ready
        for market, quote in sorted(pm.quotes.items()):
            book = books.get(market)
            if book is not None and quote.fresh and book.index != quote.price:
                self._submit(IndexPrice(market=market, price=quote.price))
        self.trim_reduce_only()

    def cancel_unfillable(self) -> None:
        """Reconcile the whole book with the chain's fold: closed nonces, raised fees."""
        self.cancel_closed_on_chain(None)
        self.cancel_above_fee_cap(None)

    def cancel_above_fee_cap(self, markets: set[MarketId] | None) -> None:
        """Cancel the resting orders (in ``markets``; None: in all) whose signed fee cap is
        below their market's maker fee now, or below that of a change queued on chain that
        they would rest to see: a resting order only ever fills as the maker, and the
        contract would skip each of its fills (``REJECT_FEE_ABOVE_MAX``). A held trigger
        order enters as a new order when released, so it must still cover every fee its
        time in force may pay, as when it was placed."""
        ready = self._ready()
        if ready is None:
            return  # the engine's restart calls this again
        books, pm = ready
        quotes, queued = pm.quotes, pm.ledger.queued_fees

        def above_cap(command: NewOrder, order: Order) -> bool:
            quote, change = quotes[command.market], queued.get(command.market)
            if command.order_id in books[command.market].held.orders:
                return fee_refusal(order, quote, change) is not None
            return order.max_fee_ppm < resting_fee_ppm(order, quote, change)

        orders = tuple(
            (command.market, command.order_id)
            for command, signed, _ in open_orders(books, self._domain)
            if (markets is None or command.market in markets)
            and command.market in quotes
            and above_cap(command, signed.order)
        )
        why = "the fee rises above their signed cap"
        self._cancel_open(orders, CancelReason.FEE_ABOVE_CAP, why)

    def cancel_closed_on_chain(self, traders: set[Address] | None) -> None:
        """Cancel the resting orders (of ``traders``; None: of everyone) whose nonce the
        position manager saw closed on chain: they could never settle."""
        ready = self._ready()
        if ready is None:
            return  # the engine's restart calls this again
        books, pm = ready
        nonces = pm.ledger.nonces
        orders = self._open_ids(
            books,
            traders,
            lambda command: nonces.is_closed(
                command.account, order_of_payload(command.payload).nonce
            ),
        )
        self._cancel_open(orders, CancelReason.ON_CHAIN)

    def cancel_expiring_on_chain(self, ahead_ms: int) -> None:
        """Cancel the resting orders that the chain's clock, ``ahead_ms`` ahead of the wall
        clock, brings within ``SETTLE_MARGIN_S`` of their signed expiry: the engine's timer
        counts on the wall clock less the lead seen when the order arrived, so a lead that
        grew since comes too late, and the contract would skip their fills
        (``REJECT_EXPIRED``). At most once a second: the margin is 30 s."""
        now = time.monotonic()
        ready = self._ready()
        if ready is None or now < self._next_expiry_scan:
            return
        books, _ = ready
        self._next_expiry_scan = now + 1.0
        chain_now_ms = WallClock().now() + ahead_ms
        orders = self._open_ids(
            books,
            None,
            lambda command: (
                (order_of_payload(command.payload).expiry - SETTLE_MARGIN_S) * 1000 <= chain_now_ms
            ),
        )
        why = f"the chain's clock, {ahead_ms} ms ahead of this node's, nears their signed expiry"
        self._cancel_open(orders, CancelReason.EXPIRES_ON_CHAIN, why)

    def cancel_unbacked(self, unbacked: list[SignedOrder]) -> None:
        """Cancel the open orders (resting or held) whose accounts a price, funding or
        collateral move on chain left short of margin for them: each fill would fail the
        contract's end-of-batch margin check (``MarginCheckFailed``) and be dropped."""
        ready = self._ready()
        if ready is None:
            return  # the position manager checks again at its next price change
        orders = self._open_with_hash(
            ready[0],
            {signed.order.trader for signed in unbacked},
            {signed.order_hash for signed in unbacked},
        )
        why = "their accounts no longer carry them at the chain's prices"
        self._cancel_open(orders, CancelReason.MARGIN_UNCOVERED, why)

    def report_rejected(self, outcome: Rejected) -> None:
        """Tell both traders, cancel the rest of the order(s) at fault (journaled: the
        command names them, so a replay needs no chain), count and log. The innocent
        side's rest stays: ending it would let a trader pull any resting order for free."""
        match = outcome.match
        maker, taker = match.maker, match.taker
        cause = outcome.reason.value
        self.rejected_fills[cause] += 1
        pm = self._pm()
        quote = pm.quotes.get(maker.order.market)
        fees = None if quote is None else (quote.maker_fee_ppm, quote.taker_fee_ppm)
        faulty = at_fault(outcome, ChainView(pm.ledger.nonces.is_closed, fees))
        # the batcher logs each fill it drops itself, with the error (``outcome.cause``): a
        # warning here is for the contract's skips, so each rejection warns once
        log.log(
            logging.WARNING if outcome.cause is None else logging.INFO,
            "fill rejected (%s%s): market %s, %s at %s, maker %s order %s, taker %s order %s%s;"
            " both traders told, the rest of the %s order cancelled (at fault)",
            cause,
            "" if outcome.account is None else f" for {outcome.account}",
            maker.order.market,
            match.size,
            match.price,
            maker.order.trader,
            maker.order_hash.hex(),
            taker.order.trader,
            taker.order_hash.hex(),
            "" if outcome.tx_hash is None else f", skipped in {outcome.tx_hash}",
            " and ".join("maker" if side is maker else "taker" for side in faulty),
        )
        books = self._books()
        if books is None:
            return
        orders = self._open_with_hash(
            books, {side.order.trader for side in faulty}, {side.order_hash for side in faulty}
        )
        rejected = RejectedFill(
            market=maker.order.market,
            price=match.price,
            size=match.size,
            taker_side=taker.order.side,
            maker_account=maker.order.trader,
            taker_account=taker.order.trader,
            maker_hash=maker.order_hash,
            taker_hash=taker.order_hash,
            cause=cause,
        )
        command = ChainCancel(orders=orders, reason=CancelReason.FILL_REJECTED, rejected=rejected)
        self._submit(command)

    def _open_ids(
        self, books: Books, traders: set[Address] | None, picked: Callable[[NewOrder], bool]
    ) -> tuple[tuple[MarketId, OrderId], ...]:
        """The resting and held orders of ``traders`` (None: of everyone) that ``picked``
        picks, as a :class:`ChainCancel` names them."""
        return tuple(
            (terms.market, terms.order_id)
            for terms, _ in open_terms(books, traders)
            if picked(terms)
        )

    def _open_with_hash(
        self, books: Books, traders: set[Address], hashes: set[OrderHash]
    ) -> tuple[tuple[MarketId, OrderId], ...]:
        """The resting and held orders of ``traders`` whose signed order's hash is in
        ``hashes``."""
        return self._open_ids(
            books,
            traders,
            lambda command: order_hash_of_payload(command.payload, self._domain) in hashes,
        )

    def _cancel_open(
        self,
        orders: tuple[tuple[MarketId, OrderId], ...],
        reason: CancelReason,
        why: str | None = None,
    ) -> None:
        """Cancel ``orders`` through the sequencer (journaled), warning ``why`` if given."""
        if not orders:
            return
        if why is not None:
            log.warning("%d open orders cancelled: %s", len(orders), why)
        self._submit(ChainCancel(orders=orders, reason=reason))

    def _ready(self) -> tuple[Books, PositionManager] | None:
        books, pm = self._books(), self._pm_or_none()
        return None if books is None or pm is None else (books, pm)

    def _pm(self) -> PositionManager:
        pm = self._pm_or_none()
        assert pm is not None, "the position manager is not running"
        return pm
