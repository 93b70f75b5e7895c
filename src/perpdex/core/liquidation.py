"""Reference model of the contract's liquidation and deleveraging, bit for bit.

``Liquidations.liquidate`` closes one tiered step of an account below maintenance margin
against the caller at the index price; the trader pays a penalty on the closed notional
(capped at its scope's equity), shared between the liquidator and the insurance fund; a
scope left flat below zero is made whole by the fund. ``Liquidations.deleverage`` closes a
bankrupt position the fund cannot cover against an opposite position at the bankruptcy
price. These functions work on one market's positions; the caller supplies the trader's
scope health (``margin.cross_health`` or ``margin.isolated_health`` with funding) and
checks the liquidator's cross account against initial margin after the step, which the
contract does last. Every refusal raises :class:`Refused` with the contract's revert reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from perpdex.core import funding
from perpdex.core.eip712 import FeePpm
from perpdex.core.margin import (
    FundingIndex,
    Health,
    PositionState,
    fee,
    notional,
    reduced,
    stored_position,
    value,
)
from perpdex.core.rounding import div_ceil, div_floor
from perpdex.core.types import Collateral, Price, Size
from perpdex.core.units import units

ABOVE_MAINTENANCE = "exchange: account above maintenance"
NO_POSITION = "exchange: no position"
SELF_LIQUIDATION = "exchange: self-liquidation"
LIQUIDATOR_ISOLATED = "exchange: liquidator position is isolated"
LIQUIDATOR_MARGIN = "exchange: liquidator margin too low"
FUND_SHORT = "exchange: insurance fund short, deleverage"
NOT_BANKRUPT = "exchange: not bankrupt beyond the fund"
NOT_OPPOSITE = "exchange: counterparty not opposite"
PROFIT_TOO_SMALL = "exchange: counterparty profit too small"
ISOLATED_GROWTH = "exchange: isolated position would grow"


class Refused(ValueError):
    """The contract reverts the step with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LiquidationTerms:
    """A market's tiered liquidation (``Markets.liquidation``)."""

    fraction_ppm: int
    penalty_ppm: FeePpm
    liquidator_share_ppm: int
    min_partial_notional: Collateral


@dataclass(frozen=True, slots=True)
class MarketState:
    """What a step reads of its market: the fresh index price, the lot, the funding index."""

    price: Price
    lot_size: Size
    funding_index: FundingIndex


@dataclass(frozen=True, slots=True)
class Holder:
    """One side of a position move: its position in the market, its cross collateral, and
    whether it holds cross positions in other markets (a cross account only realises a
    deficit when its last cross position closes)."""

    position: PositionState
    collateral: Collateral
    other_cross: bool


@dataclass(frozen=True, slots=True)
class Moved:
    """A holder after ``move_position``: ``deficit`` is what the insurance fund must cover
    (the ``InsuranceDrawn`` amount), ``funding`` the funding it settled on the way, and
    ``funding_logged`` whether that emits ``FundingSettled`` (the snapshot moved: logged even
    when the amount rounds to zero, since the event carries the new snapshot)."""

    position: PositionState
    collateral: Collateral
    deficit: Collateral
    funding: Collateral
    funding_logged: bool


@dataclass(frozen=True, slots=True)
class Liquidation:
    """One step: ``delta`` and ``cash`` are the trader's (the ``Liquidated`` size)."""

    step: Size
    delta: Size
    cash: Collateral
    penalty: Collateral
    reward: Collateral
    full: bool
    trader: Moved
    liquidator: Moved
    insurance_fund: Collateral


@dataclass(frozen=True, slots=True)
class Deleveraging:
    """One deleveraging: ``delta`` and ``cash`` are the trader's, the counterparty moves by
    their negatives; ``loss`` is the counterparty's (the ``Deleveraged`` loss)."""

    amount: Size
    delta: Size
    cash: Collateral
    loss: Collateral
    trader: Moved
    counterparty: Moved
    insurance_fund: Collateral


def step_size(size: Size, scope: Health, market: MarketState, terms: LiquidationTerms) -> Size:
    """How much of a position of ``size`` one step closes: the market's fraction rounded up
    to the lot, or the whole position when that would leave less than a lot, when its
    notional is under the minimum partial notional, or when the scope's equity does not
    exceed the penalty on the whole notional (partial steps could not restore it)."""
    amount = abs(size)
    lot = market.lot_size
    lots = div_ceil(amount * terms.fraction_ppm, units().fraction_scale * lot)
    step = lots * lot
    whole = notional(Size(amount), market.price)
    if (
        step + lot > amount
        or whole < terms.min_partial_notional
        or scope.equity <= fee(whole, terms.penalty_ppm)
    ):
        return Size(amount)
    return Size(step)


def close(size: Size, amount: Size, price: Price) -> tuple[Size, Collateral]:
    """``Liquidations._close``: the size change and cash of closing ``amount`` of ``size``
    at ``price``, rounded against the holder: a long's proceeds down, a short's cost up."""
    scale = units().size_scale
    if size > 0:
        return Size(-amount), Collateral(div_floor(amount * price, scale))
    return Size(amount), Collateral(-div_ceil(amount * price, scale))


def penalty_of(cash: Collateral, scope: Health, terms: LiquidationTerms) -> Collateral:
    """The trader's penalty: the fee on the closed notional (``|cash|``, rounded up), capped
    at what the scope still owns, so a loss the price caused never becomes bad debt the
    insurance fund would pay to itself and the liquidator."""
    return Collateral(min(fee(Collateral(abs(cash)), terms.penalty_ppm), max(scope.equity, 0)))


def reward_of(penalty: Collateral, terms: LiquidationTerms) -> Collateral:
    """The liquidator's share of the penalty, rounded down: the fund keeps the odd unit."""
    return Collateral(div_floor(penalty * terms.liquidator_share_ppm, units().fraction_scale))


def move_position(holder: Holder, delta: Size, cash: Collateral, index: FundingIndex) -> Moved:
    """``Liquidations._move_position``: settle funding at ``index``, change the size by
    ``delta`` and the quote by ``cash``; a position that goes flat is realised into cross
    collateral (with its margin when isolated). A scope realised below zero leaves a
    deficit, zeroed here, that the caller must cover."""
    settled, amount = funding.settle(holder.position, index)
    size, margin = Size(settled.size + delta), settled.isolated_margin
    quote, collateral = Collateral(settled.quote + cash), holder.collateral
    deficit = Collateral(0)
    if settled.isolated:
        if not reduced(settled.size, size):
            raise Refused(ISOLATED_GROWTH)
        if size == 0:
            released = quote + margin
            margin, quote = Collateral(0), Collateral(0)
            if released < 0:
                deficit = Collateral(-released)
            else:
                collateral = Collateral(collateral + released)
    elif size == 0:
        collateral, quote = Collateral(collateral + quote), Collateral(0)
        if not holder.other_cross and collateral < 0:
            deficit, collateral = Collateral(-collateral), Collateral(0)
    position = stored_position(size, quote, settled.isolated, margin, index)
    logged = funding.settles(holder.position, index)
    return Moved(position, collateral, deficit, amount, logged)


def cover(insurance_fund: Collateral, deficit: Collateral) -> Collateral:
    """``Liquidations._cover``: the fund after paying ``deficit``, which it must hold all of
    (otherwise the loss goes to deleveraging)."""
    if insurance_fund < deficit:
        raise Refused(FUND_SHORT)
    return Collateral(insurance_fund - deficit)


def liquidate(
    trader: Holder,
    liquidator: Holder,
    scope: Health,
    market: MarketState,
    terms: LiquidationTerms,
    insurance_fund: Collateral,
) -> Liquidation:
    """One tiered step of ``Liquidations.liquidate`` of ``trader``'s position, whose scope
    (its cross account, or the isolated position alone) has health ``scope``."""
    size = trader.position.size
    if size == 0:
        raise Refused(NO_POSITION)
    if scope.equity >= scope.maintenance:
        raise Refused(ABOVE_MAINTENANCE)
    step = step_size(size, scope, market, terms)
    delta, cash = close(size, step, market.price)
    penalty = penalty_of(cash, scope, terms)
    reward = reward_of(penalty, terms)
    insurance_fund = Collateral(insurance_fund + penalty - reward)
    moved = move_position(trader, delta, Collateral(cash - penalty), market.funding_index)
    insurance_fund = cover(insurance_fund, moved.deficit)
    if liquidator.position.isolated:
        raise Refused(LIQUIDATOR_ISOLATED)
    taken = move_position(liquidator, Size(-delta), Collateral(reward - cash), market.funding_index)
    if taken.deficit:  # a liquidator left flat below zero: nobody would cover it
        raise Refused(LIQUIDATOR_MARGIN)
    return Liquidation(
        step, delta, cash, penalty, reward, step == abs(size), moved, taken, insurance_fund
    )


def deleverage(
    trader: Holder,
    counterparty: Holder,
    scope: Health,
    market: MarketState,
    insurance_fund: Collateral,
) -> Deleveraging:
    """``Liquidations.deleverage``: ``trader``'s bankrupt position (scope health ``scope``,
    a deficit the fund cannot cover) closed against ``counterparty``'s opposite one, as
    much as both hold, at the index price moved against the counterparty by the trader's
    deficit pro rata."""
    size, other = trader.position.size, counterparty.position.size
    if size == 0:
        raise Refused(NO_POSITION)
    if not (scope.equity < 0 and insurance_fund < -scope.equity):
        raise Refused(NOT_BANKRUPT)
    if (size > 0) == (other > 0) or other == 0:
        raise Refused(NOT_OPPOSITE)
    amount = Size(min(abs(size), abs(other)))
    # the trader's share of the deficit for `amount`, rounded up: it ends at zero or above
    loss = Collateral(div_ceil(-scope.equity * amount, abs(size)))
    worth = value(other, counterparty.position.quote, market.price)
    owed = funding.settle(counterparty.position, market.funding_index)[1]
    if worth + owed < loss:
        raise Refused(PROFIT_TOO_SMALL)
    delta, cash = close(size, amount, market.price)
    cash = Collateral(cash + loss)
    moved = move_position(trader, delta, cash, market.funding_index)
    insurance_fund = cover(insurance_fund, moved.deficit)
    taken = move_position(counterparty, Size(-delta), Collateral(-cash), market.funding_index)
    insurance_fund = cover(insurance_fund, taken.deficit)
    return Deleveraging(amount, delta, cash, loss, moved, taken, insurance_fund)


PRICE_BITS = 64
"""Prices the search tries stay below 2**PRICE_BITS (far above any oracle answer scaled to
price units): a short whose scope never falls below maintenance up there has none."""


def liquidation_price(
    health_at: Callable[[Price], Health], size: Size, tick: Price
) -> Price | None:
    """The price on ``tick``'s grid at which ``Liquidations.liquidate`` first accepts the
    position of ``size`` (its scope below maintenance, ``equity < maintenance``), the
    other prices of the scope held where they are: a long's highest such price, a short's
    lowest; one tick better it is not liquidatable. None when no positive price makes it
    so (a long backed beyond its notional, a flat position).

    ``health_at`` is the scope's health with the market at a price, computed with the
    contract's integers (:func:`perpdex.core.margin.cross_health` or ``isolated_health``
    with funding). Equity less maintenance rises with the price for a long and falls for
    a short (maintenance moves by a fraction below one of the mark's move), so the
    boundary is found by bisection over the grid, exact to the unit the contract rounds.
    """
    if size == 0:
        return None

    def liquidatable(ticks: int) -> bool:
        health = health_at(Price(ticks * tick))
        return health.equity < health.maintenance

    top = ((1 << PRICE_BITS) - 1) // tick
    if size > 0:
        if not liquidatable(1):
            return None
        if liquidatable(top):
            return Price(top * tick)
        return Price(_last_true(liquidatable, 1, top) * tick)
    if not liquidatable(top):
        return None
    if liquidatable(1):
        return tick
    return Price((_last_true(lambda ticks: not liquidatable(ticks), 1, top) + 1) * tick)


def _last_true(holds: Callable[[int], bool], low: int, high: int) -> int:
    """The last integer in [low, high) where ``holds``, which holds at ``low``, not at
    ``high``, and changes once in between (bisection)."""
    while high - low > 1:
        middle = (low + high) // 2
        if holds(middle):
            low = middle
        else:
            high = middle
    return low
