"""The liquidator: after every price change, step every account below maintenance back up.

Each ``Exchange.liquidate(trader, market)`` is one tiered step (the contract picks partial
or whole). A round sends one step for every position to liquidate without waiting in
between, so steps of several accounts share a block; then each account is read again and
the next round steps whatever is still below maintenance. A step the insurance fund cannot
cover reverts with ``FUND_SHORT``: the position is then deleveraged against opposite
positions, most profitable first. Whatever the keeper takes over stays in its cross
account (``hold``); ``perpdex.keeper.hedge`` closes it on the book (``hedge``).

Latency is counted in blocks, from the block of the price change after which the account
was found below maintenance to the block of its first step (:attr:`Liquidator.latencies`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from perpdex.core import liquidation
from perpdex.core.margin import Health, value
from perpdex.core.types import Address, MarketId, Price
from perpdex.keeper.accounts import AccountSource, AccountView
from perpdex.keeper.chain import Quote, Step
from perpdex.keeper.transactions import Reverted

log = logging.getLogger(__name__)

_SOMEONE_ELSE = frozenset({liquidation.ABOVE_MAINTENANCE, liquidation.NO_POSITION})
"""Refusals that mean another liquidator (or a price move) got there first."""


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """A position to step: ``market``'s position of ``trader``."""

    trader: Address
    market: MarketId


@dataclass(frozen=True, slots=True)
class Latency:
    target: Target
    price_block: int
    """The block of the price change that triggered the scan."""
    block: int
    """The block of the first liquidation step."""

    @property
    def blocks(self) -> int:
        return self.block - self.price_block


@dataclass(frozen=True, slots=True)
class Liquidated:
    target: Target
    step: Step


@dataclass(frozen=True, slots=True)
class Deleveraged:
    target: Target
    counterparty: Address
    step: Step


Action = Liquidated | Deleveraged


@dataclass(frozen=True, slots=True)
class LiquidatorConfig:
    max_rounds: int = 50
    """Steps per position per scan at most (a 30% step takes ~10 to close a position)."""
    rescan_s: float = 10.0
    """A full scan this often even without a price change (funding moves health too)."""


class LiquidationChain(Protocol):
    @property
    def keeper(self) -> Address: ...

    def block_number(self) -> int: ...

    def quotes(self) -> dict[MarketId, Quote]: ...

    def liquidation_in_flight(self, trader: Address, market: MarketId) -> bool: ...

    def submit_liquidation(self, trader: Address, market: MarketId) -> bytes: ...

    def wait_liquidation(self, trader: Address, market: MarketId, tx_hash: bytes) -> Step: ...

    def deleverage(self, trader: Address, market: MarketId, counterparty: Address) -> Step: ...


# -- decisions (pure) ---------------------------------------------------------------------


def below_maintenance(health: Health) -> bool:
    """The contract's condition for a step: equity strictly below maintenance."""
    return health.equity < health.maintenance


def targets(account: AccountView, prices: Mapping[MarketId, Price]) -> list[Target]:
    """What to step next in ``account``: every isolated position below its own maintenance,
    and, when the cross account is below, its cross position of the largest notional (the
    step that frees the most requirement)."""
    found = [
        Target(account.trader, p.market)
        for p in account.positions
        if p.isolated and p.health is not None and below_maintenance(p.health)
    ]
    cross = [p for p in account.positions if not p.isolated]
    if cross and below_maintenance(account.cross):
        largest = max(cross, key=lambda p: (abs(p.size) * prices[p.market], -p.market))
        found.append(Target(account.trader, largest.market))
    return found


def counterparties(
    accounts: Iterable[AccountView], target: Target, prices: Mapping[MarketId, Price]
) -> list[Address]:
    """Who can take over ``target``'s bankrupt position: the holders of an opposite position
    in its market with a profit (value plus unsettled funding), most profitable first."""
    accounts = list(accounts)
    mine = next((a.position(target.market) for a in accounts if a.trader == target.trader), None)
    if mine is None:
        return []
    price = prices[target.market]
    ranked: list[tuple[int, Address]] = []
    for account in accounts:
        other = account.position(target.market)
        if account.trader == target.trader or other is None or (other.size > 0) == (mine.size > 0):
            continue
        profit = value(other.size, other.quote, price) + other.funding
        if profit > 0:
            ranked.append((-profit, account.trader))
    return [trader for _, trader in sorted(ranked)]


# -- the task -----------------------------------------------------------------------------


class Liquidator:
    def __init__(
        self,
        source: AccountSource,
        chain: LiquidationChain,
        *,
        clock: Callable[[], float] = time.monotonic,
        config: LiquidatorConfig | None = None,
    ) -> None:
        self.source = source
        self.chain = chain
        self.clock = clock
        self.config = config or LiquidatorConfig()
        self.latencies: list[Latency] = []
        self._quotes: dict[MarketId, Quote] = {}
        self._notified: int | None = None
        self._price_block = 0
        self._next_scan = float("-inf")
        self._liquidating: set[Target] = set()
        self._refusals: set[Target] = set()

    @property
    def max_latency(self) -> int | None:
        return max((sample.blocks for sample in self.latencies), default=None)

    def on_price(self, block: int) -> None:
        """A price was pushed in ``block`` (the oracle pusher's callback): the next tick
        scans, and measures latency from that block."""
        self._notified = block if self._notified is None else min(self._notified, block)

    def tick(self) -> list[Action]:
        """Scan if a price changed (or :attr:`LiquidatorConfig.rescan_s` passed) and step
        every account below maintenance until none is left; returns what was done."""
        quotes = self.chain.quotes()
        changed = quotes != self._quotes or self._notified is not None
        if changed:
            self._quotes = quotes
            notified, self._notified = self._notified, None
            self._price_block = notified if notified is not None else self.chain.block_number()
        elif self.clock() < self._next_scan:
            return []
        self._next_scan = self.clock() + self.config.rescan_s
        return self._liquidate_all(self.source.accounts())

    def _liquidate_all(self, accounts: Sequence[AccountView]) -> list[Action]:
        prices = {market: quote.price for market, quote in self._quotes.items()}
        fresh = {market for market, quote in self._quotes.items() if quote.fresh}
        keeper = self.chain.keeper
        work = self._work(accounts, prices, fresh, keeper)
        self._liquidating &= set(work)
        self._refusals = set()
        actions: list[Action] = []
        for _ in range(self.config.max_rounds):
            if not work:
                break
            actions += self._round(work, prices)
            traders = sorted({target.trader for target in work})
            again = self._work([self.source.account(t) for t in traders], prices, fresh, keeper)
            # a refused step would be refused again in this scan: it waits for the next one
            work = [target for target in again if target not in self._refusals]
        return actions

    def _work(
        self,
        accounts: Iterable[AccountView],
        prices: Mapping[MarketId, Price],
        fresh: set[MarketId],
        keeper: Address,
    ) -> list[Target]:
        # a stale price refuses every step: those wait for the next fresh price
        return [
            target
            for account in accounts
            if account.trader != keeper
            for target in targets(account, prices)
            if target.market in fresh
        ]

    def _round(self, work: Sequence[Target], prices: Mapping[MarketId, Price]) -> list[Action]:
        """One step for each target, all sent before any is awaited."""
        sent: list[tuple[Target, bytes]] = []
        actions: list[Action] = []
        for target in work:
            if self.chain.liquidation_in_flight(target.trader, target.market):
                continue
            try:
                sent.append((target, self.chain.submit_liquidation(target.trader, target.market)))
            except Reverted as refusal:
                actions += self._refused(target, refusal.reason, prices)
        for target, tx_hash in sent:
            try:
                step = self.chain.wait_liquidation(target.trader, target.market, tx_hash)
            except Reverted as reverted:  # the chain moved since the estimate: re-read
                log.warning("liquidation of %s reverted: %s", target, reverted.reason)
                continue
            if target not in self._liquidating:
                self._liquidating.add(target)
                self.latencies.append(Latency(target, self._price_block, step.block))
            actions.append(Liquidated(target, step))
        return actions

    def _refused(
        self, target: Target, reason: str, prices: Mapping[MarketId, Price]
    ) -> list[Action]:
        self._refusals.add(target)
        if reason == liquidation.FUND_SHORT:
            return self._deleverage(target, prices)
        if reason not in _SOMEONE_ELSE:
            log.warning("liquidation of %s refused: %s", target, reason)
        return []

    def _deleverage(self, target: Target, prices: Mapping[MarketId, Price]) -> list[Action]:
        """Close the bankrupt position against opposite ones, most profitable first, until
        it is gone (each call closes as much as the counterparty holds)."""
        actions: list[Action] = []
        for counterparty in counterparties(self.source.accounts(), target, prices):
            try:
                step = self.chain.deleverage(target.trader, target.market, counterparty)
            except Reverted as refusal:
                log.warning("deleveraging %s against %s: %s", target, counterparty, refusal)
                continue
            actions.append(Deleveraged(target, counterparty, step))
            if self.source.account(target.trader).position(target.market) is None:
                break
        if not actions:
            log.error("no counterparty can deleverage %s", target)
        return actions
