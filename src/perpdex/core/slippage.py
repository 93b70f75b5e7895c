"""The worst price of an order that accepts a slippage from a reference price, in price
units: the keeper's hedge, the simulations' IOC bots and the SDK's market closes and
attached stop-loss / take-profit orders sign it as their limit."""

from __future__ import annotations

from perpdex.core.rounding import div_ceil, div_floor, mul_div_ceil, mul_div_floor
from perpdex.core.types import Price, Side
from perpdex.core.units import units


def worst_price(reference: Price, side: Side, slippage_ppm: int, tick: Price) -> Price:
    """The limit of an order that accepts ``slippage_ppm`` from ``reference``: a sell down
    to ``reference - slippage``, a buy up to ``reference + slippage``, rounded to the tick
    away from the reference (the band stays at least as wide as asked)."""
    scale = units().fraction_scale
    if side is Side.SELL:
        return Price(div_floor(mul_div_floor(reference, scale - slippage_ppm, scale), tick) * tick)
    return Price(div_ceil(mul_div_ceil(reference, scale + slippage_ppm, scale), tick) * tick)
