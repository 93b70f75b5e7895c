"""The pre-trade check: can the account carry the order if it and every open order fill?

First the terms the contract would refuse at settlement whatever the margin: the market
listed, then the fee cap and the margin mode (:mod:`perpdex.risk.terms`). Then the margin.

Worst case, per market: the account's open orders on one side all fill at their limit
prices (with the market's higher fee), or those on the other side do, or none does,
whichever leaves the least margin; the new order counts on its side. Cross health is a
sum over markets, so the worst case of the account is the sum of each market's worst
case. The check then demands, at the current prices, that the cross account still meets
initial margin with any pending withdrawal taken out, and that an isolated order's own
position does too. So the engine cannot produce a fill the contract's end-of-batch
margin check refuses, unless prices move first; :func:`unbacked_orders` checks the
resting orders again whenever the chain moves the account or the prices (the position
manager), so the node cancels those a move left short before they can match.

Every requirement of a market the trader capped its leverage in (:mod:`perpdex.risk.
leverage`) is valued at ``max(IMR, 1 / leverage)``, the open orders' worst case included,
so neither splitting an order nor amending one passes the cap: the check always covers
the position and every open order together.

An order that only shrinks its position (with the account's other open orders on that
side), and a reduce-only trigger order (an attached stop-loss or take-profit, which the
engine sizes to the position when it fires), are admitted without the margin test: the
contract lets risk-reducing fills through below initial margin, and a trader must always
be able to close. Any other order is refused while a market the account holds a
position in has a stale price: the contract then lets the account only reduce risk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from perpdex.core.eip712 import SignedOrder
from perpdex.core.margin import FLAT, MarginPpm
from perpdex.core.types import Collateral, MarginMode, MarketId, Price, Side, Size
from perpdex.core.units import from_collateral_units
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import Refusal
from perpdex.risk import health
from perpdex.risk.events import QueuedFees
from perpdex.risk.ledger import Account, MarketState
from perpdex.risk.leverage import capped
from perpdex.risk.prices import Quote
from perpdex.risk.reservations import Reservation
from perpdex.risk.terms import fee_refusal, margin_mode_refusal


def check_order(
    account: Account,
    open_orders: Sequence[Reservation],
    new: SignedOrder,
    quotes: Mapping[MarketId, Quote],
    markets: Mapping[MarketId, MarketState],
    queued_fees: Mapping[MarketId, QueuedFees],
    fractions: Mapping[MarketId, MarginPpm],
) -> Refusal | None:
    """None to admit ``new`` for an ``account`` that already holds its pending fills;
    ``fractions``: the trader's ``1 / leverage`` per market it capped."""
    reservation = Reservation(new, new.order.size)
    refusal = _check(account, open_orders, reservation, quotes, markets, queued_fees, fractions)
    if (
        refusal is not None
        and refusal.code is ErrorCode.INSUFFICIENT_MARGIN
        and fractions
        and _check(account, open_orders, reservation, quotes, markets, queued_fees, {}) is None
    ):
        return Refusal(
            refusal.code,
            f"{refusal.message}, at your leverage caps (set in markets "
            f"{', '.join(map(str, sorted(fractions)))}; the markets' maximum would allow "
            "it): raise them with set_leverage, or add collateral",
        )
    return refusal


def leverage_refusal(
    account: Account,
    open_orders: Sequence[Reservation],
    quotes: Mapping[MarketId, Quote],
    markets: Mapping[MarketId, MarketState],
    fractions: Mapping[MarketId, MarginPpm],
) -> Refusal | None:
    """Why the account cannot take the leverage caps ``fractions`` now: its positions, or
    its open orders filled, would miss initial margin at them (None: it can)."""
    prices = {m: q.price for m, q in quotes.items()}
    try:
        short = -_surplus(_without_withdrawal(account), prices, markets, fractions)
    except KeyError:  # a position in a market without a price yet
        return Refusal(ErrorCode.STALE_PRICE, "a market of the account has no price yet")
    if short > 0:
        return _short("the account at this leverage", short)
    unbacked = unbacked_orders(account, open_orders, quotes, markets, {}, fractions)
    if unbacked:
        hashes = ", ".join("0x" + r.signed.order_hash.hex() for r in unbacked)
        return Refusal(
            ErrorCode.INSUFFICIENT_MARGIN,
            f"at this leverage the account could not carry its open orders {hashes} if "
            "they fill: cancel them first",
        )
    return None


def unbacked_orders(
    account: Account,
    open_orders: Sequence[Reservation],
    quotes: Mapping[MarketId, Quote],
    markets: Mapping[MarketId, MarketState],
    queued_fees: Mapping[MarketId, QueuedFees],
    fractions: Mapping[MarketId, MarginPpm],
) -> list[Reservation]:
    """The resting orders the account no longer carries: each order checked as if placed
    now, oldest first, against the older ones kept (so the oldest are kept). The check at
    placement valued the account at the prices of that moment; a price, funding or
    collateral change since can leave it short, and a fill of such an order would fail
    the contract's end-of-batch margin check (``MarginCheckFailed``) and be dropped.

    A stale price alone cancels nothing (the margin is valued at the last good price): an
    oracle that misses a heartbeat would otherwise empty every book; the fills that meet
    a stale price at settlement are rejected and reported."""
    if not open_orders:
        return []
    quotes = {market: replace(quote, fresh=True) for market, quote in quotes.items()}
    *older, newest = open_orders
    if _check(account, older, newest, quotes, markets, queued_fees, fractions) is None:
        return []  # the whole set passes as it did at placement (the common case)
    kept: list[Reservation] = []
    dropped: list[Reservation] = []
    for reservation in open_orders:
        if _check(account, kept, reservation, quotes, markets, queued_fees, fractions) is None:
            kept.append(reservation)
        else:
            dropped.append(reservation)
    return dropped


def _check(
    account: Account,
    open_orders: Sequence[Reservation],
    reservation: Reservation,
    quotes: Mapping[MarketId, Quote],
    markets: Mapping[MarketId, MarketState],
    queued_fees: Mapping[MarketId, QueuedFees],
    fractions: Mapping[MarketId, MarginPpm],
) -> Refusal | None:
    """:func:`check_order` of ``reservation``'s order with ``reservation.open`` left."""
    new = reservation.signed
    order = new.order
    quote = quotes.get(order.market)
    if quote is None or order.market not in markets:
        return Refusal(
            ErrorCode.UNKNOWN_MARKET,
            f"market {order.market} is not listed on chain (or not read by the position "
            "manager yet)",
        )
    position = account.positions.get(order.market, FLAT)
    refusal = fee_refusal(order, quote, queued_fees.get(order.market)) or margin_mode_refusal(
        order, position, open_orders
    )
    if refusal is not None:
        return refusal
    if order.reduce_only and order.is_trigger:
        return None  # sized to the position when released; reserves nothing (reserves_margin)
    same_side = [
        r
        for r in open_orders
        if r.signed.order.market == order.market and r.signed.order.side is order.side
    ]
    if _only_reduces(position.size, order.side, reservation.open + sum(r.open for r in same_side)):
        return None
    stale = sorted(
        {order.market, *(m for m, p in account.positions.items() if p.size != 0)}
        - {m for m, q in quotes.items() if q.fresh}
    )
    if stale:
        return Refusal(
            ErrorCode.STALE_PRICE,
            f"the price of market {', '.join(map(str, stale))} is stale: only orders that "
            "reduce a position are taken",
        )

    prices = {m: q.price for m, q in quotes.items()}
    base = _without_withdrawal(account)
    base_surplus = _surplus(base, prices, markets, fractions)
    worst = base_surplus
    mine = [*open_orders, reservation]
    for market in sorted({r.signed.order.market for r in mine}):
        deltas = [0]
        for side in Side:
            orders = [
                r for r in mine if r.signed.order.market == market and r.signed.order.side is side
            ]
            if not orders:
                continue
            filled = _filled(base, orders, markets[market])
            deltas.append(_surplus(filled, prices, markets, fractions) - base_surplus)
            isolated_order = order.margin_mode is MarginMode.ISOLATED
            if market == order.market and side is order.side and isolated_order:
                isolated = health.isolated_health(filled, market, prices, markets)
                if not isolated.meets_initial:
                    return _short("the isolated position", isolated.initial - isolated.equity)
        worst += min(deltas)
    if worst < 0:
        return _short("the account", -worst)
    return None


def _without_withdrawal(account: Account) -> Account:
    """A copy of ``account`` with its pending withdrawal already taken out: the contract
    lets it leave after the delay whatever the orders do, so no order may count on it."""
    base = account.copy()
    base.collateral = Collateral(base.collateral - base.withdrawal)
    return base


def _only_reduces(position: int, side: Side, size: int) -> bool:
    return position * side < 0 and size <= abs(position)


def _filled(base: Account, orders: Sequence[Reservation], state: MarketState) -> Account:
    account = base.copy()
    fee_ppm = max(state.maker_fee_ppm, state.taker_fee_ppm)
    for reservation in orders:
        order = reservation.signed.order
        health.fill(
            account,
            order.market,
            state,
            order.side,
            Size(reservation.open),
            order.limit_price,
            fee_ppm,
            order.margin_mode,
        )
    return account


def _surplus(
    account: Account,
    prices: Mapping[MarketId, Price],
    markets: Mapping[MarketId, MarketState],
    fractions: Mapping[MarketId, MarginPpm],
) -> int:
    """Cross equity less initial margin, with every requirement of a capped market at the
    trader's leverage: a cross position's through its raised fraction, an isolated one's
    as what its own margin does not cover of it. The contract funds an isolated position
    at the market's IMR, so the rest of the trader's cap is held free in cross (adding
    margin to the position moves it there, which changes nothing here)."""
    raised = capped(markets, fractions)
    cross = health.cross_health(account, prices, raised)
    shortfall = 0
    for market in fractions:
        position = account.positions.get(market)
        if position is not None and position.isolated and position.size != 0:
            isolated = health.isolated_health(account, market, prices, raised)
            shortfall += max(isolated.initial - isolated.equity, 0)
    return cross.equity - cross.initial - shortfall


def _short(what: str, by: int) -> Refusal:
    amount = from_collateral_units(Collateral(by))
    return Refusal(
        ErrorCode.INSUFFICIENT_MARGIN,
        f"{what} would miss initial margin by {amount.normalize():f} USDC if its orders fill",
    )
