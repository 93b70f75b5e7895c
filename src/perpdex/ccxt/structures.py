"""perpdex's values as ccxt's unified structures (market, order book, order, trade,
position, balance, ...): pure functions of the SDK's values, unit-tested one by one.

Numbers leave as ``float``, as ccxt's Python structures hold them (a bot multiplies
``order["price"]`` by a float); each is converted once, from the exact integer through its
``Decimal``, so a value on the tick or lot grid prints as typed. The exact integers stay in
``info``. perpdex's markets are linear perpetuals settled in USDC: ``BTC-PERP`` is
``BTC/USDC:USDC``, one contract is one unit of the base asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from perpdex.chain.deployment import ListedMarket
from perpdex.core.eip712 import FeePpm
from perpdex.core.margin import MarginPpm, fee, notional, requirement, value
from perpdex.core.types import Collateral, MarginMode, Price, Side, Size, TimeInForce
from perpdex.core.units import (
    from_collateral_units,
    from_price_units,
    from_size_units,
    to_price_units,
    to_size_units,
    units,
)
from perpdex.sdk.chain_client import Health, PositionState
from perpdex.sdk.leverage import LeverageSetting
from perpdex.sdk.values import Fill, OrderState, OrderStatus

Json = dict[str, Any]

SETTLE = "USDC"
"""The collateral every market settles in (quote and settle currency of each symbol)."""
PERP_SUFFIX = "-PERP"

ORDER_STATUS = {
    OrderState.UNTRIGGERED: "open",
    OrderState.OPEN: "open",
    OrderState.PARTIALLY_FILLED: "open",
    OrderState.FILLED: "closed",
    OrderState.CANCELLED: "canceled",
    OrderState.EXPIRED: "expired",
}
TIME_IN_FORCE = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "PO",
}
"""perpdex's time in force -> ccxt's ``timeInForce`` strings."""
MARGIN_MODE = {MarginMode.CROSS: "cross", MarginMode.ISOLATED: "isolated"}


def unified_symbol(market: ListedMarket) -> str:
    """``BTC-PERP`` -> ``BTC/USDC:USDC`` (ccxt's form of a linear perpetual)."""
    return f"{base_of(market)}/{SETTLE}:{SETTLE}"


def base_of(market: ListedMarket) -> str:
    return market.symbol.removesuffix(PERP_SUFFIX)


def price_number(price: int) -> float:
    return float(from_price_units(Price(price)))


def amount_number(size: int) -> float:
    return float(from_size_units(Size(size)))


def money_number(amount: int) -> float:
    return float(from_collateral_units(Collateral(amount)))


def ppm_number(ppm: int) -> float:
    return float(Decimal(ppm) / units().fraction_scale)


def average_price(cost: int, size: int) -> float:
    """The price of ``size`` size units bought for ``cost`` collateral units (not on the
    tick grid in general, hence a plain division)."""
    scale = units()
    return float(Decimal(cost * scale.size_scale) / Decimal(size) / 10**scale.price_decimals)


def iso8601(timestamp_ms: int | None) -> str | None:
    """ccxt's ``datetime``: ``2026-12-02T19:30:00.000Z``."""
    if timestamp_ms is None:
        return None
    moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


def market_structure(market: ListedMarket) -> Json:
    """ccxt's market structure of a linear perpetual swap (precision as tick sizes, ccxt's
    ``TICK_SIZE`` precision mode)."""
    base = base_of(market)
    return {
        "id": market.symbol,
        "numericId": market.id,
        "symbol": unified_symbol(market),
        "base": base,
        "quote": SETTLE,
        "settle": SETTLE,
        "baseId": base,
        "quoteId": SETTLE,
        "settleId": SETTLE,
        "type": "swap",
        "spot": False,
        "margin": False,
        "swap": True,
        "future": False,
        "option": False,
        "index": False,
        "active": True,
        "contract": True,
        "linear": True,
        "inverse": False,
        "subType": "linear",
        "taker": ppm_number(market.taker_fee_ppm),
        "maker": ppm_number(market.maker_fee_ppm),
        "percentage": True,
        "tierBased": False,
        "feeSide": "quote",
        "contractSize": 1.0,
        "expiry": None,
        "expiryDatetime": None,
        "strike": None,
        "optionType": None,
        "precision": {
            "amount": amount_number(market.lot_size),
            "price": price_number(market.tick_size),
            "cost": None,
            "base": None,
            "quote": None,
        },
        "limits": {
            "leverage": {"min": 1.0, "max": float(market.max_leverage)},
            "amount": {"min": amount_number(market.lot_size), "max": None},
            "price": {"min": price_number(market.tick_size), "max": None},
            "cost": {"min": None, "max": None},
        },
        "marginModes": {"cross": True, "isolated": True},
        "created": None,
        "info": {
            "symbol": market.symbol,
            "marketId": market.id,
            "tickSize": market.tick_size,
            "lotSize": market.lot_size,
            "maxLeverage": market.max_leverage,
            "initialMarginPpm": market.initial_margin_ppm,
            "maintenanceMarginPpm": market.maintenance_margin_ppm,
            "makerFeePpm": market.maker_fee_ppm,
            "takerFeePpm": market.taker_fee_ppm,
        },
    }


def currency_structure() -> Json:
    """The one currency: the collateral (withdrawals go to the wallet that deposited)."""
    step = money_number(1)
    return {
        "id": SETTLE,
        "code": SETTLE,
        "name": "USD Coin (the Exchange's collateral)",
        "active": True,
        "deposit": False,
        "withdraw": True,
        "fee": 0.0,
        "precision": step,
        "limits": {"amount": {"min": step, "max": None}, "withdraw": {"min": step, "max": None}},
        "networks": {},
        "info": {"decimals": units().collateral_decimals},
    }


def order_book_structure(
    symbol: str,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    nonce: int,
    limit: int | None,
) -> Json:
    """ccxt's order book: ``[price, amount]`` levels, best first; ``nonce`` is the book's
    sequence number (the last update it includes)."""
    best_bids = sorted(bids, reverse=True)[:limit]
    best_asks = sorted(asks)[:limit]
    return {
        "symbol": symbol,
        "bids": [[price_number(p), amount_number(s)] for p, s in best_bids],
        "asks": [[price_number(p), amount_number(s)] for p, s in best_asks],
        "timestamp": None,
        "datetime": None,
        "nonce": nonce,
    }


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """What a unified order said beyond the signed order (kept for the orders this client
    placed: the history does not say whether an IOC was a market order)."""

    type: str
    time_in_force: TimeInForce
    reduce_only: bool
    trigger_price: float | None = None
    stop_loss_price: float | None = None
    take_profit_price: float | None = None


def order_structure(
    order: OrderStatus, market: ListedMarket, terms: OrderTerms | None = None
) -> Json:
    """ccxt's order structure of an order of the history (the SDK's ``OrderStatus``).
    perpdex's history holds journal sequence numbers, not times: the timestamps are None."""
    filled = float(order.filled)
    average = None if order.average_price is None else float(order.average_price)
    time_in_force = None if terms is None else terms.time_in_force
    return {
        "id": order.order_hash,
        "clientOrderId": order.client_id,
        "timestamp": None,
        "datetime": None,
        "lastTradeTimestamp": None,
        "lastUpdateTimestamp": None,
        "status": ORDER_STATUS[order.state],
        "symbol": unified_symbol(market),
        "type": "limit" if terms is None else terms.type,
        "timeInForce": None if time_in_force is None else TIME_IN_FORCE[time_in_force],
        "postOnly": time_in_force is TimeInForce.POST_ONLY,
        "reduceOnly": None if terms is None else terms.reduce_only,
        "side": "buy" if order.side is Side.BUY else "sell",
        "price": float(order.price),
        "triggerPrice": None if terms is None else terms.trigger_price,
        "stopLossPrice": None if terms is None else terms.stop_loss_price,
        "takeProfitPrice": None if terms is None else terms.take_profit_price,
        "amount": float(order.size),
        "filled": filled,
        "remaining": float(order.remaining),
        "cost": None if order.average_price is None else float(order.filled * order.average_price),
        "average": average,
        "trades": [],
        "fee": None,
        "fees": [],
        "info": _info(order),
    }


def trade_structure(fill: Fill, market: ListedMarket) -> Json:
    """ccxt's trade structure of one of the account's fills; the fee is the market's fee
    for the fill's role, computed as the contract does (``margin._fee``, rounded up)."""
    fee_ppm = market.maker_fee_ppm if fill.maker else market.taker_fee_ppm
    cost = notional(to_size_units(fill.size), to_price_units(fill.price))
    return {
        "id": str(fill.account_seq),
        "order": fill.order_hash,
        "clientOrderId": fill.client_id,
        "timestamp": None,
        "datetime": None,
        "symbol": unified_symbol(market),
        "type": None,
        "side": "buy" if fill.side is Side.BUY else "sell",
        "takerOrMaker": "maker" if fill.maker else "taker",
        "price": float(fill.price),
        "amount": float(fill.size),
        "cost": money_number(cost),
        "fee": {
            "currency": SETTLE,
            "cost": money_number(fee(cost, FeePpm(fee_ppm))),
            "rate": ppm_number(fee_ppm),
        },
        "fees": [],
        "info": _info(fill),
    }


def position_structure(
    position: PositionState, mark: Price, leverage: Decimal | None = None
) -> Json:
    """ccxt's position structure of a settled position marked at ``mark`` (``leverage``:
    the cap the gateway holds the market's orders to). The entry price
    is the quote leg over the size, so it includes the fees paid (perpdex's contract keeps
    one quote leg); the unrealised PnL is the contract's value of the position."""
    market = position.market
    size = abs(position.size)
    initial = requirement(position.size, mark, MarginPpm(market.initial_margin_ppm))
    maintenance = requirement(position.size, mark, MarginPpm(market.maintenance_margin_ppm))
    margin_mode = "isolated" if position.isolated else "cross"
    return {
        "id": None,
        "symbol": unified_symbol(market),
        "timestamp": None,
        "datetime": None,
        "lastUpdateTimestamp": None,
        "isolated": position.isolated,
        "hedged": False,
        "side": "long" if position.size > 0 else "short",
        "contracts": amount_number(size),
        "contractSize": 1.0,
        "entryPrice": average_price(abs(position.quote), size) if size else None,
        "markPrice": price_number(mark),
        "lastPrice": None,
        "notional": money_number(notional(Size(size), mark)),
        "leverage": None if leverage is None else float(leverage),
        "collateral": money_number(position.isolated_margin) if position.isolated else None,
        "initialMargin": money_number(initial),
        "initialMarginPercentage": ppm_number(market.initial_margin_ppm),
        "maintenanceMargin": money_number(maintenance),
        "maintenanceMarginPercentage": ppm_number(market.maintenance_margin_ppm),
        "unrealizedPnl": money_number(value(position.size, position.quote, mark)),
        "realizedPnl": None,
        "liquidationPrice": None,
        "marginMode": margin_mode,
        "marginRatio": None,
        "percentage": None,
        "stopLossPrice": None,
        "takeProfitPrice": None,
        "info": {
            "market": market.symbol,
            "size": position.size,
            "quote": position.quote,
            "isolated": position.isolated,
            "isolatedMargin": position.isolated_margin,
            "markPrice": mark,
        },
    }


def leverage_structure(symbol: str, setting: LeverageSetting, mode: MarginMode) -> Json:
    """ccxt's leverage structure: one leverage for both sides (perpdex has no hedge mode)."""
    leverage = float(setting.leverage)
    return {
        "symbol": symbol,
        "marginMode": MARGIN_MODE[mode],
        "longLeverage": leverage,
        "shortLeverage": leverage,
        "info": {
            "market": setting.market,
            "leverage": str(setting.leverage),
            "maxLeverage": str(setting.max_leverage),
            "chosen": setting.chosen,
        },
    }


def balance_structure(health: Health, isolated_margin: Collateral, collateral: Collateral) -> Json:
    """ccxt's balance of the collateral: ``total`` is the cross account's equity (deposits,
    realised and unrealised PnL, funding) plus the margin locked in isolated positions;
    ``used`` the cross initial margin plus that isolated margin; ``free`` the rest."""
    free = max(health.equity - health.initial, 0)
    total = health.equity + isolated_margin
    account = {
        "free": money_number(free),
        "used": money_number(total - free),
        "total": money_number(total),
    }
    return {
        SETTLE: account,
        "free": {SETTLE: account["free"]},
        "used": {SETTLE: account["used"]},
        "total": {SETTLE: account["total"]},
        "timestamp": None,
        "datetime": None,
        "info": {
            "collateral": collateral,
            "equity": health.equity,
            "initialMargin": health.initial,
            "maintenanceMargin": health.maintenance,
            "isolatedMargin": isolated_margin,
        },
    }


def _info(frame: Any) -> Json:
    """A wire frame as the JSON the gateway sent (camelCase members)."""
    decoded: Json = msgspec.json.decode(msgspec.json.encode(frame))
    return decoded
