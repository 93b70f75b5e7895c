"""Trigger orders in the SDK: the trigger a trader writes, the take-profit and stop-loss
attached to a position, and the one-call market close (docs/sdk.md, "Trigger orders").

Everything here is arithmetic on integers (price and size units); :class:`~perpdex.sdk.
client.Client` signs and places what it returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from perpdex.core.eip712 import Order
from perpdex.core.slippage import worst_price as slippage_worst_price
from perpdex.core.types import MarginMode, Price, Side, Size, TimeInForce, TriggerDirection
from perpdex.core.units import from_price_units, from_size_units
from perpdex.sdk.amounts import DecimalLike, Grid, order_price
from perpdex.sdk.batch import DEFAULT_ORDER_TTL_S, OrderSpec

TriggerLike = TriggerDirection | str
"""``"above"`` (fires when the index is at or above the trigger price), ``"below"``, or a
:class:`TriggerDirection`."""

_NAMES = {"above": TriggerDirection.AT_OR_ABOVE, "below": TriggerDirection.AT_OR_BELOW}
_PPM = 1_000_000

DEFAULT_CLOSE_SLIPPAGE = "0.005"
"""How far from the mark price a one-call market close may fill."""

DEFAULT_TRIGGER_SLIPPAGE = "0.05"
"""How far past its trigger price an attached stop-loss or take-profit may fill: it is a
market order once released, and a stop exists to get out."""


class TriggerError(ValueError):
    """A trigger, slippage or position that cannot make the order asked for."""


@dataclass(frozen=True, slots=True)
class Trigger:
    """What a trigger order signs besides a plain order's terms."""

    price: Price
    direction: TriggerDirection

    @classmethod
    def parse(cls, price: DecimalLike | None, trigger: TriggerLike | None, market: Grid) -> Trigger:
        """From a decimal price and ``"above"``/``"below"``: both, or neither (a plain order:
        ``NO_TRIGGER``)."""
        if price is None and trigger is None:
            return NO_TRIGGER
        if price is None or trigger is None:
            raise TriggerError("a trigger order needs both trigger_price and trigger")
        return cls(order_price(price, market), direction_of(trigger))


NO_TRIGGER = Trigger(Price(0), TriggerDirection.NONE)


def direction_of(trigger: TriggerLike) -> TriggerDirection:
    if isinstance(trigger, TriggerDirection):
        if trigger is TriggerDirection.NONE:
            raise TriggerError("a trigger order's direction is above or below, not NONE")
        return trigger
    try:
        return _NAMES[trigger.lower()]
    except KeyError:
        raise TriggerError(f"trigger must be 'above' or 'below', got {trigger!r}") from None


def slippage_ppm(slippage: DecimalLike) -> int:
    """A fraction such as ``"0.005"`` in parts per million, exactly, in [0, 1)."""
    try:
        ppm = Decimal(slippage) * _PPM
    except InvalidOperation:
        raise TriggerError(f"slippage {slippage!r} is not a decimal") from None
    if ppm != ppm.to_integral_value() or not 0 <= ppm < _PPM:
        raise TriggerError(f"slippage must be in [0, 1) in steps of 0.000001, got {slippage}")
    return int(ppm)


def worst_price(reference: Price, side: Side, slippage: DecimalLike, market: Grid) -> Price:
    """The signed worst price of a market order: ``reference`` moved against the trader by
    ``slippage``, rounded outward to the tick (a sell's floor, a buy's ceiling), so the
    order accepts at least that slippage (:func:`perpdex.core.slippage.worst_price`); at
    least one tick, so a sell near 100% slippage still signs a price."""
    tick = market.tick_size
    return Price(max(slippage_worst_price(reference, side, slippage_ppm(slippage), tick), tick))


@dataclass(frozen=True, slots=True)
class CloseOrder:
    """A reduce-only market order that closes (part of) a position, or fires to: ``side``
    against the position, its whole ``size``, at worst ``price``, on ``trigger``."""

    side: Side
    size: Size
    price: Price
    trigger: Trigger

    def spec(
        self, market: str, margin_mode: MarginMode, ttl_s: int = DEFAULT_ORDER_TTL_S
    ) -> OrderSpec:
        """The order to sign, in ``market`` (its symbol) and the position's margin mode."""
        trigger = self.trigger
        return OrderSpec(
            market,
            self.side,
            from_size_units(self.size),
            from_price_units(self.price),
            TimeInForce.IOC,
            reduce_only=True,
            margin_mode=margin_mode,
            ttl_s=ttl_s,
            trigger_price=from_price_units(trigger.price) if trigger.price else None,
            trigger=trigger.direction if trigger.price else None,
        )


def closing_side(position: int) -> Side:
    if not position:
        raise TriggerError("there is no position to close")
    return Side.SELL if position > 0 else Side.BUY


def market_close(
    position: int, reference: Price, slippage: DecimalLike, market: Grid
) -> CloseOrder:
    """The reduce-only IOC that closes ``position`` at worst ``slippage`` from
    ``reference`` (the market's mark price)."""
    side = closing_side(position)
    return CloseOrder(
        side, Size(abs(position)), worst_price(reference, side, slippage, market), NO_TRIGGER
    )


def attached(
    position: int,
    market: Grid,
    *,
    stop_loss: DecimalLike | None,
    take_profit: DecimalLike | None,
    slippage: DecimalLike,
) -> list[CloseOrder]:
    """The stop-loss and/or take-profit of ``position``: reduce-only market orders of its
    whole size that fire when the index crosses their price against (stop-loss) or for
    (take-profit) the position. A stop-loss on the wrong side of a take-profit is an
    error (one of them would fire at once)."""
    side = closing_side(position)
    long = side is Side.SELL
    against, for_ = (
        (TriggerDirection.AT_OR_BELOW, TriggerDirection.AT_OR_ABOVE)
        if long
        else (TriggerDirection.AT_OR_ABOVE, TriggerDirection.AT_OR_BELOW)
    )
    orders = []
    for price, direction in ((stop_loss, against), (take_profit, for_)):
        if price is not None:
            trigger = Trigger(order_price(price, market), direction)
            worst = worst_price(trigger.price, side, slippage, market)
            orders.append(CloseOrder(side, Size(abs(position)), worst, trigger))
    if not orders:
        raise TriggerError("give a stop_loss, a take_profit or both")
    if len(orders) == 2 and (orders[0].trigger.price - orders[1].trigger.price) * side <= 0:
        raise TriggerError(
            f"a {'long' if long else 'short'}'s stop-loss must be "
            f"{'below' if long else 'above'} its take-profit"
        )
    return orders


def superseded(placed: Iterable[CloseOrder], open_orders: Iterable[tuple[str, Order]]) -> list[str]:
    """The hashes among ``open_orders`` (``(order hash, terms)`` of one market) of the
    attached orders that ``placed`` replace: the reduce-only trigger orders on the same
    side with the same trigger direction (an earlier stop-loss, or take-profit)."""
    kinds = {(order.side, order.trigger.direction) for order in placed}
    return [
        order_hash
        for order_hash, terms in open_orders
        if terms.reduce_only and (terms.side, terms.trigger_direction) in kinds
    ]
