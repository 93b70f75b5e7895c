"""Stateful fuzz of the Exchange's risk engine, checked step by step by the reference model.

Traders deposit, trade by real signed orders against a market maker (cross and isolated),
request and execute withdrawals; oracle prices move; the keeper posts funding; anyone
funds the insurance fund; a well-funded liquidator liquidates any account below
maintenance (and tries healthy ones), and bankrupt accounts the fund cannot cover are
deleveraged against opposite positions. The :class:`Ledger` folds every event the
contract emits (``Filled``, ``FundingPosted``, and the ``Liquidated``/``Deleveraged``/
``InsuranceDrawn`` it predicts and the test compares), so the invariants below hold:

(a) Model = contract: every view of every actor (collateral, positions with their funding
    snapshots, funding owed, cross and isolated health), the fee pool, the insurance fund
    and the funding indexes equal the ledger's. The ledger only changes the positions of
    the actors an event names, so no position changes without a Filled, Liquidated or
    Deleveraged event.

(b) Conservation with funding dust:

        balance == Σ collateral + Σ isolated margin + Σ quote + Σ funding owed
                   + fee_pool + insurance_fund + dust

    Funding moves no tokens and the exact funding of all positions sums to zero (every
    size change has an opposite one, and a touch settles before the size changes). Each
    settlement pays ``floor`` of its exact amount (a payment rounded up, a receipt down),
    so each leaves a fraction in [0, 1) unit in the vault, and so does the funding owed
    now. Hence dust == -(Σ settled + Σ owed) exactly, which the ledger knows, and
    0 <= dust < number of settlements + number of open positions.

(c) A realised loss below zero is always covered: an account without open positions never
    has negative collateral, and every InsuranceDrawn equals the model's deficit (checked
    in the liquidation helpers).

(d) Tiered steps: a partial step closes exactly the fraction of the position rounded up
    to the lot; a full step happens only when the rule allows it; liquidation of an
    account at or above maintenance is refused.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace

import boa
import pytest
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
from tests.unitary.exchange.venue import USDC, Actor, Venue, actor, deploy_venue
from tests.unitary.liquidations.scenario import (
    LIQUIDATOR,
    MAKER,
    MARKETS,
    RICH,
    assert_model_equals_contract,
    deleverage_step,
    fund_insurance,
    liquidate_step,
    post_funding,
    refresh_prices,
    trade,
)
from tests.unitary.margin.ledger import Ledger, mark_prices

from perpdex.chain.markets import default_markets
from perpdex.core import margin
from perpdex.core.liquidation import Liquidation
from perpdex.core.rounding import div_ceil
from perpdex.core.types import MarginMode, MarketId, Price, Size
from perpdex.core.units import units

TRADERS = [actor(f"risk_trader_{i}") for i in range(3)]
ACTORS = [*TRADERS, MAKER, LIQUIDATOR]
CAP = 500_000  # the default funding rate cap: rates are drawn up to twice it

traders = st.sampled_from(TRADERS)
markets = st.sampled_from(MARKETS)


class RiskMachine(RuleBasedStateMachine):
    def __init__(self, venue: Venue) -> None:
        super().__init__()
        self.venue = venue
        self.exchange = venue.exchange
        self.ledger = Ledger.of(venue.markets)
        # an anchor of its own, so the machine also runs isolated outside pytest
        self._anchor: AbstractContextManager[None] = boa.env.anchor()
        self._anchor.__enter__()

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    # ------------------------------------------------------------ custody

    @initialize(
        deposits=st.lists(st.integers(100, 3_000), min_size=len(TRADERS), max_size=len(TRADERS)),
        fund=st.sampled_from([0, 1, 100, 10_000]),
        opens=st.lists(
            st.tuples(markets, st.booleans(), st.integers(80, 190), st.sampled_from(MarginMode)),
            min_size=len(TRADERS),
            max_size=len(TRADERS),
        ),
    )
    def fund_everyone(
        self, deposits: list[int], fund: int, opens: list[tuple[MarketId, bool, int, MarginMode]]
    ) -> None:
        """Everyone deposits and each trader opens a leveraged position, so that a few
        adverse moves make accounts liquidatable."""
        for who, amount in (*zip(TRADERS, deposits, strict=True), (MAKER, 0), (LIQUIDATOR, 0)):
            self.deposit(who, amount * USDC or RICH)
        if fund:
            fund_insurance(self.venue, self.ledger, fund * USDC)
        for who, (market, buys, leverage, mode) in zip(TRADERS, opens, strict=True):
            self.trade(who, market, buys, leverage, mode)

    @rule(who=traders, amount=st.integers(1, 2_000 * USDC))
    def deposit(self, who: Actor, amount: int) -> None:
        self.venue.fund(who, amount)
        self.ledger.credit(who.address, amount)

    @rule(who=traders, percent=st.integers(1, 120))
    def withdraw(self, who: Actor, percent: int) -> None:
        """Requests ``percent`` of the free collateral (beyond 100: more than is free) and
        executes it after the delay, when the model says it leaves initial margin met."""
        health = self.ledger.cross_health(who.address, mark_prices(self.venue.markets))
        amount = max((health.equity - health.initial) * percent // 100, 1)
        with boa.env.prank(who.address):
            self.exchange.request_withdrawal(amount)
        boa.env.time_travel(seconds=self.exchange.withdrawal_delay())
        refresh_prices(self.venue)
        after = replace(self.ledger, collateral={**self.ledger.collateral})
        after.credit(who.address, -amount)
        if not after.cross_health(who.address, mark_prices(self.venue.markets)).meets_initial:
            reason = "exchange: withdrawal exceeds free collateral"
            with boa.env.prank(who.address), boa.reverts(reason):
                self.exchange.execute_withdrawal()
            return
        with boa.env.prank(who.address):
            self.exchange.execute_withdrawal()
        self.ledger.credit(who.address, -amount)

    @rule(amount=st.integers(1, 500 * USDC))
    def fund_insurance(self, amount: int) -> None:
        fund_insurance(self.venue, self.ledger, amount)

    # ------------------------------------------------------------ trading and prices

    @rule(
        who=traders,
        market=markets,
        buys=st.booleans(),
        leverage=st.integers(5, 200),
        mode=st.sampled_from(MarginMode),
    )
    def trade(
        self, who: Actor, market: MarketId, buys: bool, leverage: int, mode: MarginMode
    ) -> None:
        """``who`` trades ``leverage`` tenths of its free collateral's worth (beyond 20x
        the margin check refuses it) against the maker at the index price."""
        spec = default_markets()[market]
        held = self.ledger.position(who.address, market)
        if held.size:  # an order in the other margin mode would be rejected
            mode = MarginMode.ISOLATED if held.isolated else MarginMode.CROSS
        price = self.venue.markets.price(market)[0] // spec.tick_size * spec.tick_size
        health = self.ledger.cross_health(who.address, mark_prices(self.venue.markets))
        lot_notional = spec.lot_size * price // units().size_scale
        lots = max((health.equity - health.initial) * leverage // 10 // lot_notional, 1)
        trade(self.venue, self.ledger, MAKER, who, market, buys, lots * spec.lot_size, price, mode)

    @rule(market=markets, tenths=st.integers(-60, 60))
    def move_price(self, market: MarketId, tenths: int) -> None:
        listed = default_markets()[market].index_price  # moves stay within 1/2x..2x of it
        price = self.venue.markets.price(market)[0] * (1_000 + tenths) // 1_000
        self.venue.set_price(market, Price(min(max(price, listed // 2), listed * 2)))

    @precondition(lambda self: self._holders())
    @rule(data=st.data(), permille=st.integers(-20, 40))
    def squeeze(self, data: st.DataObject, permille: int) -> None:
        """A holder's market moves until its scope's equity is about ``permille`` of the
        position's notional: maintenance is at 30, the penalty at 15, bankruptcy below 0."""
        who, market = data.draw(st.sampled_from(self._holders()))
        price = mark_prices(self.venue.markets)[market]
        size = self.ledger.position(who.address, market).size
        equity = self.ledger.scope_health(who.address, market, mark_prices(self.venue.markets))
        target = permille * margin.notional(Size(abs(size)), price) // 1_000
        moved = price + (target - equity.equity) * units().size_scale // size
        listed = default_markets()[market].index_price  # within 1/2x..2x of it
        self.venue.set_price(market, Price(min(max(moved, listed // 2), listed * 2)))

    @rule(market=markets, rate=st.integers(-2 * CAP, 2 * CAP))
    def post_funding(self, market: MarketId, rate: int) -> None:
        post_funding(self.venue, self.ledger, market, rate)

    # ------------------------------------------------------------ liquidation

    def _holders(self) -> list[tuple[Actor, MarketId]]:
        return [
            (who, m)
            for who in TRADERS
            for m in MARKETS
            if self.ledger.position(who.address, m).size
        ]

    def _below_maintenance(self) -> list[tuple[Actor, MarketId]]:
        prices = mark_prices(self.venue.markets)
        return [
            (who, m)
            for who, m in self._holders()
            if not _above(self.ledger.scope_health(who.address, m, prices))
        ]

    def _beyond_the_fund(self) -> list[tuple[Actor, MarketId]]:
        prices = mark_prices(self.venue.markets)
        return [
            (who, m)
            for who, m in self._holders()
            if -self.ledger.scope_health(who.address, m, prices).equity > self.ledger.insurance_fund
        ]

    @precondition(lambda self: self._holders())
    @rule(data=st.data())
    def liquidate(self, data: st.DataObject) -> None:
        """Mostly an account below maintenance, now and then any holder, whose liquidation
        must be refused at or above maintenance (d)."""
        below = self._below_maintenance()
        pick = below if below and data.draw(st.integers(0, 3)) else self._holders()
        who, market = data.draw(st.sampled_from(pick))
        before = self.ledger.position(who.address, market)
        scope = self.ledger.scope_health(who.address, market, mark_prices(self.venue.markets))
        step = liquidate_step(self.venue, self.ledger, who, market, LIQUIDATOR)
        if _above(scope):
            assert step is None
        elif step is not None:
            self._check_tier(before.size, scope, market, step)

    @precondition(lambda self: self._beyond_the_fund())
    @rule(data=st.data())
    def deleverage(self, data: st.DataObject) -> None:
        who, market = data.draw(st.sampled_from(self._beyond_the_fund()))
        size = self.ledger.position(who.address, market).size
        opposite = [
            other for other in ACTORS if self.ledger.position(other.address, market).size * size < 0
        ]
        if opposite:
            deleverage_step(
                self.venue, self.ledger, who, market, data.draw(st.sampled_from(opposite))
            )

    def _check_tier(
        self, size: Size, scope: margin.Health, market: MarketId, step: Liquidation
    ) -> None:
        """(d), from the rule's statement rather than the model's code."""
        terms, lot = self.ledger.terms[market], self.ledger.lots[market]
        amount = abs(size)
        fraction_step = div_ceil(amount * terms.fraction_ppm, units().fraction_scale * lot) * lot
        if not step.full:
            assert abs(step.delta) == fraction_step < amount
            return
        price = mark_prices(self.venue.markets)[market]
        whole = div_ceil(amount * price, units().size_scale)
        penalty = div_ceil(whole * terms.penalty_ppm, units().fraction_scale)
        assert abs(step.delta) == amount
        assert (
            fraction_step + lot > amount
            or whole < terms.min_partial_notional
            or scope.equity <= penalty
        )

    # ------------------------------------------------------------ invariants

    @invariant()
    def model_equals_contract(self) -> None:  # (a)
        assert_model_equals_contract(self.venue, self.ledger, ACTORS)

    @invariant()
    def vault_holds_every_claim_plus_dust(self) -> None:  # (b)
        """From the ledger's values, which (a) holds equal to the contract's views."""
        ledger = self.ledger
        claims = ledger.fee_pool + ledger.insurance_fund + sum(ledger.collateral.values())
        claims += sum(p.quote + p.isolated_margin for p in ledger.positions.values())
        claims += ledger.owed()
        dust = self.venue.usdc.balanceOf(self.exchange.address) - claims
        assert dust == -(ledger.funding_settled + ledger.owed())
        open_positions = sum(p.size != 0 for p in ledger.positions.values())
        assert 0 <= dust <= max(ledger.settlements + open_positions - 1, 0)

    @invariant()
    def no_flat_account_below_zero(self) -> None:  # (c), on the ledger as (a) holds it equal
        for who in ACTORS:
            if not any(self.ledger.position(who.address, m).size for m in MARKETS):
                assert self.ledger.cross_collateral(who.address) >= 0


def _above(scope: margin.Health) -> bool:
    """At or above maintenance: liquidation is refused."""
    return bool(scope.equity >= scope.maintenance)


@pytest.fixture(scope="module")
def venue() -> Venue:
    """Deployed once per run; every example runs inside its own anchor."""
    return deploy_venue()


def test_risk_stateful(venue: Venue) -> None:
    run_state_machine_as_test(
        lambda: RiskMachine(venue),
        settings=settings(max_examples=20, stateful_step_count=25, deadline=None),
    )
