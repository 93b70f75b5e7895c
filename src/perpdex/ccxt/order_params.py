"""ccxt's ``create_order`` arguments as the terms of one perpdex order: type, time in force,
the params perpdex understands, and a market order's worst price.

A market order is an IOC (or FOK) whose signed limit is the worst price accepted: the
``price`` a bot passes, else a reference price (the best opposite level, or the mark on an
empty side) moved by the slippage against the order, rounded to the tick toward the
reference so the order never accepts more than the slippage.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from perpdex.ccxt import errors as ccxt
from perpdex.ccxt.config import margin_mode
from perpdex.ccxt.numbers import decimal
from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import MarginMode, TimeInForce
from perpdex.core.units import from_price_units

TIME_IN_FORCE = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "PO": TimeInForce.POST_ONLY,
}
"""ccxt's ``timeInForce`` param -> perpdex's."""

TRIGGER_PARAMS = ("triggerPrice", "stopLossPrice", "takeProfitPrice")
KNOWN_PARAMS = frozenset(
    {
        "timeInForce",
        "postOnly",
        "reduceOnly",
        "clientOrderId",
        "marginMode",
        "triggerDirection",
        *TRIGGER_PARAMS,
    }
)
TRIGGER_DIRECTIONS = {"above": "above", "up": "above", "below": "below", "down": "below"}
"""ccxt's ``triggerDirection`` spellings -> the SDK's."""


@dataclass(frozen=True, slots=True)
class OrderParams:
    """What a unified order asks beyond market, side, amount and price."""

    type: str
    time_in_force: TimeInForce
    reduce_only: bool
    client_id: str | None
    margin_mode: MarginMode | None
    """None: the client's mode for the symbol (``set_margin_mode``), else its default."""
    trigger_price: Decimal | None
    stop_loss_price: Decimal | None
    take_profit_price: Decimal | None
    trigger_direction: str | None
    """``above`` or ``below`` for ``triggerPrice`` (None: from the index price now)."""

    @property
    def closes(self) -> bool:
        """A stop-loss or take-profit: reduce-only, it closes (part of) a position."""
        return self.stop_loss_price is not None or self.take_profit_price is not None


def order_params(type: str, params: dict[str, Any]) -> OrderParams:
    """Refuses unknown params (BadRequest: a typo must not go unnoticed) and terms that do
    not go together (InvalidOrder)."""
    unknown = set(params) - KNOWN_PARAMS
    if unknown:
        raise ccxt.BadRequest(
            f"unknown order params {sorted(unknown)} (known: {sorted(KNOWN_PARAMS)})"
        )
    mode = params.get("marginMode")
    order = OrderParams(
        type=type,
        time_in_force=_time_in_force(type, params),
        reduce_only=bool(params.get("reduceOnly", False)),
        client_id=params.get("clientOrderId"),
        margin_mode=None if mode is None else margin_mode(mode),
        trigger_price=_optional(params, "triggerPrice"),
        stop_loss_price=_optional(params, "stopLossPrice"),
        take_profit_price=_optional(params, "takeProfitPrice"),
        trigger_direction=_direction(params.get("triggerDirection")),
    )
    if (
        sum(
            p is not None
            for p in (order.trigger_price, order.stop_loss_price, order.take_profit_price)
        )
        > 1
    ):
        raise ccxt.InvalidOrder("one of triggerPrice, stopLossPrice, takeProfitPrice per order")
    return order


def worst_price(market: ListedMarket, side: str, reference: Decimal, slippage: Decimal) -> Decimal:
    """``reference`` moved by ``slippage`` against a market order, rounded to the tick
    toward the reference (never below one tick)."""
    tick = from_price_units(market.tick_size)
    if side == "buy":
        ticks = (reference * (1 + slippage) / tick).to_integral_value(ROUND_FLOOR)
    else:
        ticks = (reference * (1 - slippage) / tick).to_integral_value(ROUND_CEILING)
    return max(ticks, Decimal(1)) * tick


def _time_in_force(type: str, params: dict[str, Any]) -> TimeInForce:
    if type not in ("limit", "market"):
        raise ccxt.InvalidOrder(f"order type must be limit or market, got {type!r}")
    if params.get("postOnly"):
        if type == "market":
            raise ccxt.InvalidOrder("a market order cannot be post-only")
        return TimeInForce.POST_ONLY
    name = params.get("timeInForce", "IOC" if type == "market" else "GTC")
    try:
        time_in_force = TIME_IN_FORCE[name]
    except KeyError:
        raise ccxt.InvalidOrder(
            f"timeInForce must be one of {sorted(TIME_IN_FORCE)}, got {name!r}"
        ) from None
    if type == "market" and time_in_force not in (TimeInForce.IOC, TimeInForce.FOK):
        raise ccxt.InvalidOrder("a market order is IOC or FOK")
    return time_in_force


def _direction(name: Any) -> str | None:
    if name is None:
        return None
    try:
        return TRIGGER_DIRECTIONS[str(name).lower()]
    except KeyError:
        raise ccxt.InvalidOrder(f"triggerDirection must be above or below, got {name!r}") from None


def _optional(params: dict[str, Any], name: str) -> Decimal | None:
    value = params.get(name)
    return None if value is None else decimal(value, name)
