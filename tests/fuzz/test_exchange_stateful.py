"""Stateful fuzz of the compiled Exchange, checked step by step by the reference model.

Role-named actors deposit, withdraw, cancel, raise nonce floors and trade through random
batches of fills: honest, forged (signed by the wrong actor), reused, overfilled, expired,
off-grid, outside their limits, reduce-only, cross and isolated. Oracle prices move in
between. The model (:class:`Ledger`) folds each emitted ``Filled`` event with
``margin.apply_fill`` and must equal the contract's views after every step.

Conservation law (invariant a). The vault owes every unit it holds to exactly one place:

    usdc.balanceOf(exchange) == Σ collateral + Σ isolated margin + Σ quote + fee_pool

A deposit or withdrawal moves the balance and one collateral by the same amount. A fill
moves the buyer's quote by -(notional + buyer fee) and the seller's by +(notional - seller
fee): the two legs sum to minus both fees, which is what the fee pool gains. Isolated
margin moves between cross collateral and its position, and a flat position moves its
quote (and margin) into collateral; both are transfers between terms of the sum.
Collateral and quotes may be negative (a realised loss against an open gain), so only
the sum is conserved, not any single term.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from tests.unitary.exchange.venue import (
    HOUR,
    USDC,
    Actor,
    Venue,
    actor,
    deploy_venue,
    events,
    match,
)
from tests.unitary.margin.ledger import Ledger, margin_params, mark_prices, position_of

from perpdex.chain.markets import default_markets
from perpdex.core import margin
from perpdex.core.eip712 import FeePpm, Nonce, Order, SignedOrder, UnixTime
from perpdex.core.margin import PositionState
from perpdex.core.signing import keccak256
from perpdex.core.types import (
    Address,
    Collateral,
    MarginMode,
    MarketId,
    OrderHash,
    Price,
    Size,
    TimeInForce,
)

TRADERS = [actor(f"trader_{i}") for i in range(4)]
MAKERS = [actor(f"maker_{i}") for i in range(3)]
ACTORS = TRADERS + MAKERS
MARGIN_CHECK_FAILED = keccak256(b"MarginCheckFailed(address)")[:4]
FILL_OR_KILL_INCOMPLETE = keccak256(b"FillOrKillIncomplete(address)")[:4]

MARKETS = [MarketId(m) for m in range(len(default_markets()))]
actors = st.sampled_from(ACTORS)

Fill = tuple[SignedOrder, SignedOrder, int, int]
"""A drawn fill: maker, taker, price, size."""


def rarely(data: st.DataObject, one_in: int) -> bool:
    """True about once in ``one_in`` draws, and False for the simplest draw."""
    return data.draw(st.integers(1, one_in)) == one_in


def _revert_data(error: BoaError) -> bytes:
    data: bytes = error.stack_trace.last_frame.vm_error.args[0]
    return data


def _cross_size(position: PositionState) -> Size:
    return Size(0) if position.isolated else position.size


def _isolated_part(position: PositionState) -> PositionState:
    """A market's isolated side: the position if isolated, else just its margin slot."""
    if position.isolated:
        return position
    return PositionState(Size(0), Collateral(0), False, position.isolated_margin)


def spec_accepts(
    pre: Ledger,
    post: Ledger,
    trader: Address,
    markets: set[MarketId],
    prices: dict[MarketId, Price],
) -> bool:
    """The end-of-batch rule as DESIGN.md states it, for one touched trader: the cross
    account and each touched isolated position meets initial margin, or only shrank
    (a position opened in a market counts as growth, whatever mode it had before) with
    equity non-negative and margin ratio not lower."""
    post_cross = post.cross_health(trader, prices)
    if not post_cross.meets_initial:
        shrank = all(
            margin.reduced(
                _cross_size(pre.position(trader, m)), _cross_size(post.position(trader, m))
            )
            for m in markets
        )
        if not margin.acceptable(pre.cross_health(trader, prices), post_cross, shrank):
            return False
    for m in markets:
        before, after = pre.position(trader, m), post.position(trader, m)
        if not (before.isolated or after.isolated):
            continue
        old, new = _isolated_part(before), _isolated_part(after)
        post_isolated = margin.isolated_health(new, prices[m], post.params[m])
        pre_isolated = margin.isolated_health(old, prices[m], post.params[m])
        if not margin.acceptable(pre_isolated, post_isolated, margin.reduced(old.size, new.size)):
            return False
    return True


class ExchangeMachine(RuleBasedStateMachine):
    def __init__(self, venue: Venue) -> None:
        super().__init__()
        self.venue = venue
        self.exchange = self.venue.exchange
        self.params = {m: self.venue.markets.market_params(m) for m in MARKETS}
        self.ledger = Ledger(margin_params(self.venue.markets))
        self.next_nonce: dict[Address, int] = {a.address: 0 for a in ACTORS}
        self.floor: dict[Address, int] = {a.address: 0 for a in ACTORS}  # raised by the actor
        self.closed: set[tuple[Address, int]] = set()  # cancelled or fully filled nonces
        self.signed: list[SignedOrder] = []
        self.forged: set[OrderHash] = set()
        self.filled: dict[OrderHash, int] = {}
        # an anchor of its own, so the machine also runs isolated outside pytest
        self._anchor: AbstractContextManager[None] = boa.env.anchor()
        self._anchor.__enter__()

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    # ------------------------------------------------------------ custody

    @initialize(
        amounts=st.lists(st.integers(1_000, 50_000), min_size=len(ACTORS), max_size=len(ACTORS))
    )
    def fund_everyone(self, amounts: list[int]) -> None:
        for who, amount in zip(ACTORS, amounts, strict=True):
            self.deposit(who, amount * USDC)

    @rule(who=actors, amount=st.integers(1, 20_000 * USDC))
    def deposit(self, who: Actor, amount: int) -> None:
        self.venue.fund(who, amount)
        self.ledger.credit(who.address, amount)

    @rule(
        who=actors,
        how=st.sampled_from(["all free", "one over", "any"]),
        any_amount=st.integers(1, 10**11),
    )
    def withdraw(self, who: Actor, how: str, any_amount: int) -> None:
        prices = mark_prices(self.venue.markets)
        health = self.ledger.cross_health(who.address, prices)
        free = health.equity - health.initial
        amount = {"all free": free, "one over": free + 1, "any": any_amount}[how]
        if amount <= 0:
            amount = any_amount
        after = replace(self.ledger, collateral={**self.ledger.collateral})
        after.credit(who.address, -amount)
        with boa.env.prank(who.address):
            self.exchange.request_withdrawal(amount)
        boa.env.time_travel(seconds=self.exchange.withdrawal_delay())
        if after.cross_health(who.address, prices).meets_initial:
            with boa.env.prank(who.address):
                self.exchange.execute_withdrawal()
            self.ledger.credit(who.address, -amount)
            return
        before = self._snapshot([])
        with (
            boa.reverts("exchange: withdrawal exceeds free collateral"),
            boa.env.prank(who.address),
        ):
            self.exchange.execute_withdrawal()
        assert self._snapshot([]) == before

    # ------------------------------------------------------------ cancellation

    @rule(who=actors, data=st.data())
    def cancel_orders(self, who: Actor, data: st.DataObject) -> None:
        upto = self.next_nonce[who.address] + 2
        nonces = data.draw(st.lists(st.integers(0, upto), min_size=1, max_size=3))
        with boa.env.prank(who.address):
            self.exchange.cancel_orders(nonces)
        self.closed |= {(who.address, n) for n in nonces}

    @rule(who=actors, step=st.integers(-1, 3))
    def raise_nonce_floor(self, who: Actor, step: int) -> None:
        # fills may have raised it already (an order filled whole at the floor)
        floor = self.exchange.account(who.address)[1] + step
        if step <= 0:
            before = self._snapshot([])
            with boa.reverts("exchange: nonce floor can only rise"), boa.env.prank(who.address):
                self.exchange.raise_nonce_floor(max(floor, 0))
            assert self._snapshot([]) == before
            return
        with boa.env.prank(who.address):
            self.exchange.raise_nonce_floor(floor)
        self.floor[who.address] = floor
        self.next_nonce[who.address] = max(self.next_nonce[who.address], floor)

    # ------------------------------------------------------------ prices

    @rule(market=st.sampled_from(MARKETS), percent=st.integers(85, 115))
    def move_price(self, market: MarketId, percent: int) -> None:
        listed = default_markets()[market].index_price  # moves stay within 1/2x..2x of it
        price = self.venue.markets.price(market)[0] * percent // 100
        self.venue.set_price(market, Price(min(max(price, listed // 2), listed * 2)))

    # ------------------------------------------------------------ settlement

    def _draw_order(
        self,
        data: st.DataObject,
        market: MarketId,
        is_buy: bool,
        *,
        other_than: Actor | None = None,
        trader: Actor | None = None,
        mode: MarginMode | None = None,
    ) -> SignedOrder:
        """A fresh order signed by its trader, or now and then a reused, forged, expired,
        wrongly timed, fee-capped or reduce-only one. The simplest draw of every choice is
        the honest one, so shrinking ends at a well-formed trade. The trader is ``trader``
        or drawn, and then is ``other_than`` (the counterparty) only rarely; the margin
        mode is ``mode`` or, mostly, that of the trader's open position."""
        if trader is None and self.signed and rarely(data, 8):
            return data.draw(st.sampled_from(self.signed))  # maybe filled, closed or forged
        who = trader or data.draw(actors)
        if who == other_than and not rarely(data, 20):  # rare self-trade
            who = data.draw(st.sampled_from([a for a in ACTORS if a != other_than]))
        held = self.ledger.position(who.address, market)
        if mode is None:
            mode = MarginMode.ISOLATED if held.isolated else MarginMode.CROSS
            if not held.size or rarely(data, 10):
                mode = data.draw(st.sampled_from(MarginMode))
        params = self.params[market]
        tick, mark = params.tick_size, self.venue.markets.price(market)[0]
        # a limit up to 3% through the mark (crossing) or 0.5% short of it
        through = mark * data.draw(st.integers(-50, 300)) // 10_000 // tick * tick
        limit = mark // tick * tick + (through if is_buy else -through)
        fresh = self.next_nonce[who.address]
        nonce = fresh - 1 if fresh and rarely(data, 10) else fresh  # replaces an order
        self.next_nonce[who.address] = fresh + 1
        order = Order(
            trader=who.address,
            market=market,
            is_buy=is_buy,
            size=Size(data.draw(st.integers(1, 1_500)) * params.lot_size),
            limit_price=Price(max(tick, limit)),
            max_fee_ppm=FeePpm(100 if rarely(data, 20) else 1_000),
            margin_mode=mode,
            time_in_force=data.draw(st.sampled_from(list(TimeInForce)))
            if rarely(data, 10)
            else TimeInForce.GTC,
            reduce_only=rarely(data, 8),
            expiry=UnixTime(boa.env.evm.patch.timestamp + (0 if rarely(data, 20) else HOUR)),
            nonce=Nonce(nonce),
        )
        return self._sign(order, data.draw(actors) if rarely(data, 20) else who)

    def _sign(self, order: Order, signer: Actor) -> SignedOrder:
        digest = self.venue.domain.digest(order)
        signed = SignedOrder(order, signer.key.sign_digest(digest), OrderHash(digest))
        if signer.address != order.trader:
            self.forged.add(signed.order_hash)
        self.signed.append(signed)
        return signed

    def _draw_close(self, data: st.DataObject, who: Actor, market: MarketId) -> Fill:
        """A fill that flattens ``who``'s position at the mark, against someone else."""
        held = self.ledger.position(who.address, market)
        tick = self.params[market].tick_size
        price = Price(max(tick, self.venue.markets.price(market)[0] // tick * tick))
        mode = MarginMode.ISOLATED if held.isolated else MarginMode.CROSS
        orders = []
        for trader, is_buy in (
            (data.draw(st.sampled_from([a for a in ACTORS if a != who])), held.size > 0),
            (who, held.size < 0),
        ):
            nonce = self.next_nonce[trader.address]
            self.next_nonce[trader.address] = nonce + 1
            order = Order(
                trader=trader.address,
                market=market,
                is_buy=is_buy,
                size=Size(abs(held.size)),
                limit_price=price,
                max_fee_ppm=FeePpm(1_000),
                margin_mode=mode if trader == who else data.draw(st.sampled_from(MarginMode)),
                time_in_force=TimeInForce.GTC,
                reduce_only=False,
                expiry=UnixTime(boa.env.evm.patch.timestamp + HOUR),
                nonce=Nonce(nonce),
            )
            orders.append(self._sign(order, trader))
        return orders[0], orders[1], price, abs(held.size)

    def _draw_fill(self, data: st.DataObject) -> Fill:
        market = data.draw(st.sampled_from(MARKETS))
        maker_buys = data.draw(st.booleans())
        maker = self._draw_order(data, market, maker_buys)
        maker_actor = next(a for a in ACTORS if a.address == maker.order.trader)
        taker_buys = maker_buys if rarely(data, 30) else not maker_buys
        taker = self._draw_order(data, market, taker_buys, other_than=maker_actor)
        return self._draw_terms(data, maker, taker)

    def _draw_terms(self, data: st.DataObject, maker: SignedOrder, taker: SignedOrder) -> Fill:
        """The fill's price and size: mostly within both limits and what is left."""
        params = self.params[maker.order.market]  # a reused maker may be from another market
        tick, lot = params.tick_size, params.lot_size
        buyer, seller = (maker, taker) if maker.order.is_buy else (taker, maker)
        low, high = seller.order.limit_price, buyer.order.limit_price
        first, last = -(-low // tick), high // tick  # the ticks within both limits
        if first <= last and not rarely(data, 10):
            # at the mark where the limits allow, which an isolated open needs to meet
            # its initial margin, or anywhere between the limits
            at_mark = min(max(self.venue.markets.price(maker.order.market)[0] // tick, first), last)
            price = (
                at_mark if data.draw(st.booleans()) else data.draw(st.integers(first, last))
            ) * tick
        else:
            price = data.draw(
                st.integers(max(tick, min(low, high) - 20 * tick), max(low, high) + 20 * tick)
            )
        left = min(
            maker.order.size - self.filled.get(maker.order_hash, 0),
            taker.order.size - self.filled.get(taker.order_hash, 0),
        )
        size = max(left, lot)
        if rarely(data, 3):
            size = max(left // 2 // lot * lot, lot)
        elif rarely(data, 12):  # more than is left, or off the lot grid
            size = data.draw(st.sampled_from([left + lot, lot + 1]))
        return maker, taker, price, size

    def _holders(self) -> list[tuple[Actor, MarketId]]:
        return [(a, m) for a in ACTORS for m in MARKETS if self.ledger.position(a.address, m).size]

    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        self._settle([self._draw_fill(data) for _ in range(data.draw(st.integers(1, 6)))])

    @precondition(lambda self: self._holders())
    @rule(data=st.data())
    def close_and_reopen(self, data: st.DataObject) -> None:
        """One batch that flattens a position and reopens it on the same side in the other
        margin mode, then trades on: the end-of-batch check must judge each mode's side
        of the market (cross before, isolated after, or the reverse) on its own."""
        who, market = data.draw(st.sampled_from(self._holders()))
        held = self.ledger.position(who.address, market)
        other_mode = MarginMode.CROSS if held.isolated else MarginMode.ISOLATED
        counterparty = self._draw_order(data, market, held.size < 0, other_than=who)
        reopen = self._draw_order(data, market, held.size > 0, trader=who, mode=other_mode)
        fills = [self._draw_close(data, who, market), self._draw_terms(data, counterparty, reopen)]
        fills += [self._draw_fill(data) for _ in range(data.draw(st.integers(0, 4)))]
        self._settle(fills)

    def _settle(self, fills: list[Fill]) -> None:
        matches = [match(m, t, price=p, size=s) for m, t, p, s in fills]
        batch = {o.order_hash: o for m, t, _, _ in fills for o in (m, t)}
        prices = mark_prices(self.venue.markets)
        before = self._snapshot(list(batch.values()))
        try:
            logs = self.venue.settle(*matches)
        except BoaError as error:  # (d) a refused batch changes nothing
            assert _revert_data(error)[:4] in (MARGIN_CHECK_FAILED, FILL_OR_KILL_INCOMPLETE)
            assert self._snapshot(list(batch.values())) == before
            return
        rejected, filled = events(logs, "FillRejected"), events(logs, "Filled")
        assert len(rejected) + len(filled) == len(matches)
        pre = replace(
            self.ledger, collateral={**self.ledger.collateral}, positions={**self.ledger.positions}
        )
        touched: dict[Address, set[MarketId]] = {}
        for fill in filled:
            maker, taker = batch[fill.maker_hash], batch[fill.taker_hash]
            self._check_fill(fill, maker, taker)
            self.ledger.apply(fill, maker.order, taker.order)
            for order in (maker.order, taker.order):
                touched.setdefault(order.trader, set()).add(order.market)
        for trader, markets in touched.items():
            assert spec_accepts(pre, self.ledger, trader, markets, prices), (trader, markets)
        for fill in filled:  # a fill-or-kill order settles whole within its batch
            taker = batch[fill.taker_hash].order
            if taker.time_in_force is TimeInForce.FOK:
                assert self.filled[fill.taker_hash] == taker.size

    def _check_fill(self, fill: Any, maker: SignedOrder, taker: SignedOrder) -> None:
        """(b) and (c): a fill the contract accepted keeps every term both traders signed."""
        market = MarketId(fill.market)
        params = self.params[market]
        buyer, seller = (maker, taker) if maker.order.is_buy else (taker, maker)
        assert buyer.order.is_buy and not seller.order.is_buy
        assert seller.order.limit_price <= fill.price <= buyer.order.limit_price
        assert fill.price % params.tick_size == 0 and fill.size % params.lot_size == 0
        notional = margin.notional(Size(fill.size), Price(fill.price))
        assert fill.maker_fee == margin.fee(notional, FeePpm(params.maker_fee_ppm))
        assert fill.taker_fee == margin.fee(notional, FeePpm(params.taker_fee_ppm))
        assert maker.order.time_in_force in (TimeInForce.GTC, TimeInForce.POST_ONLY)
        assert taker.order.time_in_force in (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)
        for signed, fee_ppm in ((maker, params.maker_fee_ppm), (taker, params.taker_fee_ppm)):
            order = signed.order
            assert signed.order_hash not in self.forged
            assert order.market == market and fee_ppm <= order.max_fee_ppm
            assert order.expiry > boa.env.evm.patch.timestamp
            assert order.nonce >= self.floor[order.trader]
            assert (order.trader, order.nonce) not in self.closed
            done = self.filled.get(signed.order_hash, 0) + fill.size
            assert done <= order.size
            self.filled[signed.order_hash] = done
            if done == order.size:
                self.closed.add((order.trader, order.nonce))
            position = self.ledger.position(order.trader, market).size
            if order.reduce_only:
                assert (-position if order.is_buy else position) >= fill.size
            if position:
                held = self.ledger.position(order.trader, market).isolated
                assert held == (order.margin_mode is MarginMode.ISOLATED)
        assert (fill.maker, fill.taker) == (maker.order.trader, taker.order.trader)

    # ------------------------------------------------------------ invariants

    def _snapshot(self, orders: list[SignedOrder]) -> tuple[Any, ...]:
        accounts = [tuple(self.exchange.account(a.address)) for a in ACTORS]
        positions = [tuple(self.exchange.position(a.address, m)) for a in ACTORS for m in MARKETS]
        states = [
            tuple(self.exchange.order_state(o.order.trader, o.order.nonce, o.order_hash))
            for o in orders
        ]
        balance = self.venue.usdc.balanceOf(self.exchange.address)
        return balance, self.exchange.fee_pool(), accounts, positions, states

    @invariant()
    def model_equals_contract(self) -> None:
        held = self.exchange.fee_pool()
        assert held == self.ledger.fee_pool
        for who in ACTORS:
            collateral, floor, cross_markets = self.exchange.account(who.address)
            assert collateral == self.ledger.cross_collateral(who.address)
            # the floor only passes nonces its actor raised it past or that are closed
            assert floor >= self.floor[who.address]
            passed = range(self.floor[who.address], floor)
            assert all((who.address, n) in self.closed for n in passed)
            held += collateral
            expected_markets = 0
            for m in MARKETS:
                position = position_of(self.exchange, who.address, m)
                assert position == self.ledger.position(who.address, m)  # (b)
                held += position.quote + position.isolated_margin
                if position.size and not position.isolated:
                    expected_markets |= 1 << m
            assert cross_markets == expected_markets
        assert self.venue.usdc.balanceOf(self.exchange.address) == held  # (a)


@pytest.fixture(scope="module")
def venue() -> Venue:
    """Deployed once per run; every example runs inside its own anchor."""
    return deploy_venue()


def test_exchange_stateful(venue: Venue) -> None:
    run_state_machine_as_test(
        lambda: ExchangeMachine(venue),
        settings=settings(max_examples=40, stateful_step_count=20, deadline=None),
    )
