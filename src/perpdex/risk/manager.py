"""The position manager: the gateway's :class:`~perpdex.gateway.risk.RiskCheck`.

State = the fold of the chain's events (:class:`Ledger`) + the engine's fills not yet
settled (:class:`PendingFills`) + the open orders' reservations, valued at the latest
prices. Everything here runs on the event loop; chain reads happen in a worker thread in
:meth:`PositionManager.sync` and come back as typed events. After a restart the manager
rebuilds from the chain only (a new indexer from the deployment's start block); the
service wiring then hands it the fills still waiting for settlement and the engine's open
orders (:meth:`adopt`), both derived from the journal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from perpdex.core import margin
from perpdex.core.eip712 import Eip712Domain, FeePpm, SignedOrder
from perpdex.core.leverage import LeverageError, check_setting, margin_fraction, max_leverage
from perpdex.core.margin import FLAT, Health
from perpdex.core.types import Address, Collateral, MarketId, Price, Size
from perpdex.engine.clock import WallClock
from perpdex.engine.events import Event, Filled
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import (
    AccountState,
    LeverageSetting,
    PositionFigures,
    PositionState,
    Refusal,
)
from perpdex.logs import report_failure, report_recovery
from perpdex.risk import health
from perpdex.risk.check import check_order, leverage_refusal, unbacked_orders
from perpdex.risk.events import ChainFill
from perpdex.risk.indexer import ChainIndexer, IndexedBlocks
from perpdex.risk.ledger import Account, Ledger
from perpdex.risk.leverage import LeverageStore
from perpdex.risk.pending import PendingFills
from perpdex.risk.positions import position_figures
from perpdex.risk.prices import PriceFeed, Quote
from perpdex.risk.reservations import Reservations
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import FillOutcome, Rejected, fill_key
from perpdex.settlement.payload import match_from_fill

log = logging.getLogger(__name__)

_MS = 1000

NoncesClosed = Callable[[set[Address]], None]
"""Called with the traders who closed order nonces on chain in the blocks just folded."""

FeesChanged = Callable[[set[MarketId]], None]
"""Called with the markets whose effective maker or taker fee changed on chain."""

Unbacked = Callable[[list[SignedOrder]], None]
"""Called with the open orders whose accounts no longer carry them at the prices and
chain state just read (:func:`perpdex.risk.check.unbacked_orders`)."""

PricesChanged = Callable[[], None]
"""Called after the quotes changed (the node feeds the new prices to the engine as index
prices, which release trigger orders)."""

ChainAhead = Callable[[int], None]
"""Called after each sync that found the chain's clock ahead of the wall clock, with the
lead in milliseconds."""

PositionsMoved = Callable[[set[tuple[Address, MarketId]]], None]
"""Called with the (trader, market) positions, pending fills included, whose size the
blocks just folded changed: a liquidation step, a deleveraging, a fill settled that was
not pending here."""


class PositionManager:
    def __init__(
        self,
        indexer: ChainIndexer,
        feed: PriceFeed,
        domain: Eip712Domain,
        leverage: LeverageStore | None = None,
        ticks: Mapping[MarketId, Price] | None = None,
    ) -> None:
        self._indexer = indexer
        self._feed = feed
        self._domain = domain
        self.leverages = LeverageStore() if leverage is None else leverage
        """The traders' leverage caps: durable, so they outlive this manager."""
        self._ticks = ticks or {}
        """Each market's tick: liquidation prices are shown on its grid."""
        self.ledger = Ledger()
        self.pending = PendingFills()
        self.reservations = Reservations()
        self.quotes: dict[MarketId, Quote] = {}
        self.margins: dict[Address, Health] = {}
        """Cross health of every known account (chain + pending fills) at the latest
        prices; kept current on every fold, fill and price change."""
        self._projected: dict[Address, Account] = {}
        self._nonce_listeners: list[NoncesClosed] = []
        self._fee_listeners: list[FeesChanged] = []
        self._clock_listeners: list[ChainAhead] = []
        self._unbacked_listeners: list[Unbacked] = []
        self._price_listeners: list[PricesChanged] = []
        self._position_listeners: list[PositionsMoved] = []
        self.through = -1
        """The last block folded."""
        self._quoted_at = -1
        """The block the quotes were read at."""
        self._chain_ahead_ms = 0
        """How far the chain's clock ran ahead of the wall clock at the last sync (latest
        block timestamp less the wall clock when it was read; 0 when behind)."""

    # -- the gateway's RiskCheck ----------------------------------------------------------

    def check_order(self, order: SignedOrder) -> Refusal | None:
        trader = order.order.trader
        closed = self.ledger.nonces.of(trader).why_closed(order.order.nonce)
        if closed is not None:
            return Refusal(ErrorCode.NONCE_CLOSED, f"{closed}: the chain would skip its fills")
        return check_order(
            self.projected(trader),
            self.reservations.of(trader),
            order,
            self.quotes,
            self.ledger.markets,
            self.ledger.queued_fees,
            self.leverages.fractions(trader),
        )

    def reserve(self, order: SignedOrder, size: Size) -> None:
        self.reservations.reserve(order, size)

    def release(self, order: SignedOrder, size: Size) -> None:
        self.reservations.release(order, size)

    def chain_ahead(self) -> int:
        return self._chain_ahead_ms

    def positions(self, trader: Address) -> list[PositionFigures]:
        account = self.projected(trader)
        markets = self.ledger.markets
        leverage = {}
        for market in account.positions.keys() & markets.keys():
            setting = self.leverage(trader, market)
            assert isinstance(setting, LeverageSetting)  # the market is listed
            leverage[market] = setting.leverage
        return position_figures(account, self.prices, markets, self._ticks, leverage)

    def leverage(self, trader: Address, market: MarketId) -> LeverageSetting | Refusal:
        state = self.ledger.markets.get(market)
        if state is None:
            return Refusal(ErrorCode.UNKNOWN_MARKET, f"market {market} is not listed on chain")
        highest = max_leverage(state.params.initial_margin_ppm)
        chosen = self.leverages.of(trader).get(market)
        if chosen is None:
            return LeverageSetting(market, highest, highest, chosen=False)
        # a cap above a maximum the market lowered since is the maximum now
        return LeverageSetting(market, min(chosen, highest), highest, chosen=True)

    def set_leverage(
        self, trader: Address, market: MarketId, leverage: Decimal
    ) -> LeverageSetting | Refusal:
        refusal = self.leverage_refusal(trader, market, leverage)
        if refusal is not None:
            return refusal
        self.leverages.set(trader, market, leverage)
        return self.leverage(trader, market)

    def leverage_refusal(
        self, trader: Address, market: MarketId, leverage: Decimal
    ) -> Refusal | None:
        state = self.ledger.markets.get(market)
        if state is None:
            return Refusal(ErrorCode.UNKNOWN_MARKET, f"market {market} is not listed on chain")
        imr = state.params.initial_margin_ppm
        try:
            check_setting(leverage, imr)
        except LeverageError as error:
            return Refusal(ErrorCode.INVALID_LEVERAGE, str(error))
        fractions = dict(self.leverages.fractions(trader))
        lowered = margin_fraction(leverage) > max(fractions.get(market, imr), imr)
        fractions[market] = margin_fraction(leverage)
        if lowered:  # raising a cap never leaves the account short
            refusal = leverage_refusal(
                self.projected(trader),
                self.reservations.of(trader),
                self.quotes,
                self.ledger.markets,
                fractions,
            )
            if refusal is not None:
                return refusal
        return None

    def account(self, trader: Address) -> AccountState | None:
        if trader not in self.ledger.accounts and trader not in self.pending.traders():
            return None
        account = self.projected(trader)
        cross = self.margins.get(trader) or self._health(trader)
        return AccountState(
            collateral=account.collateral,
            equity=cross.equity,
            initial_margin=cross.initial,
            maintenance_margin=cross.maintenance,
            positions=tuple(
                PositionState(market, p.size, p.quote, p.isolated_margin)
                for market, p in sorted(account.positions.items())
            ),
        )

    # -- other readers --------------------------------------------------------------------

    @property
    def prices(self) -> dict[MarketId, Price]:
        return {market: quote.price for market, quote in self.quotes.items()}

    def position(self, trader: Address, market: MarketId) -> int:
        """Signed size with pending fills: the sequencer's source for reduce-only orders."""
        return self.projected(trader).positions.get(market, FLAT).size

    def projected(self, trader: Address) -> Account:
        """The chain's account of ``trader`` with its pending fills applied (cached)."""
        account = self._projected.get(trader)
        if account is None:
            chain = self.ledger.accounts.get(trader)
            account = Account() if chain is None else chain.copy()
            for match in self.pending.of(trader):
                self._apply_pending(account, trader, match)
            self._projected[trader] = account
        return account

    # -- inputs ---------------------------------------------------------------------------

    def on_engine_event(self, event: Event) -> None:
        """An engine fill is pending until the chain or the batcher says otherwise."""
        if isinstance(event, Filled):
            try:
                match = match_from_fill(event, self._domain)
            except ValueError:
                log.exception("fill %s carries no valid signed orders", event.seq)
                return
            self._fill_added(self.pending.add(match), match)

    def on_outcome(self, outcome: FillOutcome) -> None:
        """The batcher's verdict on a fill."""
        key = fill_key(outcome.match)
        if isinstance(outcome, Rejected):
            changed = self.pending.drop(key)
        else:
            changed = self.pending.settled(key, outcome.block, self.through)
        self._changed(changed)

    def adopt(
        self, pending: Iterable[Match], open_orders: Iterable[tuple[SignedOrder, Size]]
    ) -> None:
        """Replace the pending fills and the reservations by those of the durable journal
        (after a restart of this manager or of the engine)."""
        self.pending = PendingFills()
        for match in pending:
            self.pending.add(match)
        self.reserve_open(open_orders)
        self._changed(set(self.margins) | self.pending.traders())

    def reserve_open(self, open_orders: Iterable[tuple[SignedOrder, Size]]) -> None:
        """Replace the reservations by those of ``open_orders`` (a replica's books, which
        a process of cluster mode reads before each fold). Projections and margins do not
        count open orders: nothing to project again."""
        self.reservations = Reservations()
        for signed, size in open_orders:
            self.reservations.reserve(signed, size)

    def subscribe_nonces(self, listener: NoncesClosed) -> None:
        """``listener`` hears of every on-chain nonce cancel from the next fold on."""
        self._nonce_listeners.append(listener)

    def subscribe_fees(self, listener: FeesChanged) -> None:
        """``listener`` hears of the markets whose fees changed on chain (in effect, or a
        change queued or dropped), from the next fold on."""
        self._fee_listeners.append(listener)

    def subscribe_unbacked(self, listener: Unbacked) -> None:
        """``listener`` hears of the open orders that a fold or a price change left
        without margin, from the next fold on."""
        self._unbacked_listeners.append(listener)

    def unbacked(self, traders: Iterable[Address]) -> list[SignedOrder]:
        """The open orders of ``traders`` that their accounts no longer carry now."""
        return [
            reservation.signed
            for trader in sorted(traders)
            for reservation in unbacked_orders(
                self.projected(trader),
                self.reservations.of(trader),
                self.quotes,
                self.ledger.markets,
                self.ledger.queued_fees,
                self.leverages.fractions(trader),
            )
        ]

    def subscribe_prices(self, listener: PricesChanged) -> None:
        """``listener`` hears of every change of the quotes from the next read on."""
        self._price_listeners.append(listener)

    def subscribe_chain_ahead(self, listener: ChainAhead) -> None:
        """``listener`` hears after each sync that finds the chain's clock ahead."""
        self._clock_listeners.append(listener)

    def subscribe_positions(self, listener: PositionsMoved) -> None:
        """``listener`` hears of the positions each fold moves, from the next fold on."""
        self._position_listeners.append(listener)

    def apply(self, blocks: IndexedBlocks) -> None:
        ledger = self.ledger
        queued = dict(ledger.queued_fees)
        markets = dict(ledger.markets)
        changed: set[Address] = set()
        for event in blocks.events:
            ledger.apply(event)
            if isinstance(event, ChainFill):
                changed |= self.pending.drop((event.maker_hash, event.taker_hash))
        self.through = blocks.through
        changed |= self.pending.folded_through(self.through)
        changed |= ledger.touched
        if ledger.markets != markets:  # fees and funding index: pending fills count them
            changed |= self.pending.traders()
        ledger.touched = set()
        moved = self._changed(changed)
        if moved:
            for position_listener in self._position_listeners:
                position_listener(moved)
        self._recheck(changed)
        closed, ledger.closed = ledger.closed, set()
        if closed:
            for listener in self._nonce_listeners:
                listener(closed)
        fees = {
            market
            for market in queued.keys() | ledger.queued_fees.keys()
            if queued.get(market) != ledger.queued_fees.get(market)
        }
        if fees:
            for fee_listener in self._fee_listeners:
                fee_listener(fees)

    def set_quotes(self, quotes: dict[MarketId, Quote]) -> None:
        if quotes == self.quotes:
            return
        fees = {
            market
            for market, quote in quotes.items()
            if (old := self.quotes.get(market)) is not None
            and (old.maker_fee_ppm, old.taker_fee_ppm) != (quote.maker_fee_ppm, quote.taker_fee_ppm)
        }
        self.quotes = quotes
        for trader in self.margins:  # every ratio moves with the prices; no position does
            self.margins[trader] = self._health(trader)
        # the recheck comes first: a held trigger order the new prices leave unbacked is
        # cancelled before a price listener (the node's index feed) can release it at them
        self._recheck(self.reservations.traders())
        for price_listener in self._price_listeners:
            price_listener()
        if fees:
            for fee_listener in self._fee_listeners:
                fee_listener(fees)

    # -- chain I/O ------------------------------------------------------------------------

    async def sync(self) -> int:
        """Fold the chain up to its head and read the prices; returns the block reached."""
        head, chain_time = await asyncio.to_thread(self._indexer.latest)
        self._chain_ahead_ms = max(0, chain_time * _MS - WallClock().now())
        while True:
            blocks = await asyncio.to_thread(self._indexer.poll, head)
            self.apply(blocks)
            if blocks.through >= head:
                break
        if head != self._quoted_at:  # a block's prices never change: read each block once
            self.set_quotes(await asyncio.to_thread(self._feed.read, head))
            self._quoted_at = head
        if self._chain_ahead_ms > 0:
            for listener in self._clock_listeners:
                listener(self._chain_ahead_ms)
        return head

    async def run(self, interval_s: float, before_sync: Callable[[], None] | None = None) -> None:
        """Fold the chain every ``interval_s``, calling ``before_sync`` first if given."""
        while True:
            try:
                if before_sync is not None:
                    before_sync()
                await self.sync()
                report_recovery(log, self, "position manager sync")
            except Exception as error:  # a node hiccup must not stop the manager: retry next tick
                report_failure(log, self, "position manager sync", error)
            await asyncio.sleep(interval_s)

    # -- helpers --------------------------------------------------------------------------

    def _apply_pending(self, account: Account, trader: Address, match: Match) -> None:
        market = match.maker.order.market
        state = self.ledger.markets.get(market)
        if state is None:
            return
        for signed, fee_ppm in (
            (match.maker, state.maker_fee_ppm),
            (match.taker, state.taker_fee_ppm),
        ):
            order = signed.order
            if order.trader == trader:
                # the fee as the contract charges it, for the entry's fees (display only)
                fee = margin.fee(margin.notional(match.size, match.price), FeePpm(fee_ppm))
                size = account.positions.get(market, FLAT).size
                account.record_fill(market, size, order.side * match.size, match.price, fee)
                health.fill(
                    account,
                    market,
                    state,
                    order.side,
                    match.size,
                    match.price,
                    fee_ppm,
                    order.margin_mode,
                )

    def _recheck(self, traders: set[Address]) -> None:
        """Tell the listeners of the open orders a chain change left without margin. Only
        chain changes: an engine fill was counted at placement (its order's worst case)."""
        if not self._unbacked_listeners:
            return
        orders = self.unbacked(traders & self.reservations.traders())
        if orders:
            for listener in self._unbacked_listeners:
                listener(orders)

    def _fill_added(self, traders: set[Address], match: Match) -> None:
        """``match`` joined the pending fills of ``traders``, last in engine order: applied
        to a cached projection it gives what projecting again from the chain's account
        would (the same fills in the same order), without applying every pending fill
        again."""
        for trader in traders:
            cached = self._projected.get(trader)
            if cached is not None:
                account = cached.copy()
                self._apply_pending(account, trader, match)
                self._projected[trader] = account
            self.margins[trader] = self._health(trader)

    def _changed(self, traders: set[Address]) -> set[tuple[Address, MarketId]]:
        """Project ``traders`` again; returns their positions whose size this changed.
        Each known trader's projection is cached from the last change on (``_health``
        makes it), so the cache holds the sizes before this change."""
        moved: set[tuple[Address, MarketId]] = set()
        for trader in traders:
            before = self._projected.pop(trader, None)
            self.margins[trader] = self._health(trader)
            old = {} if before is None else before.positions
            new = self.projected(trader).positions
            moved |= {
                (trader, market)
                for market in old.keys() | new.keys()
                if old.get(market, FLAT).size != new.get(market, FLAT).size
            }
        return moved

    def _health(self, trader: Address) -> Health:
        account = self.projected(trader)
        try:
            return health.cross_health(account, self.prices, self.ledger.markets)
        except KeyError:  # no price yet for one of its markets
            return Health(account.collateral, Collateral(0), Collateral(0))
