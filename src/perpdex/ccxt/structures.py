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

from perpdex.ccxt.funding_rates import FundingPost, FundingSchedule
from perpdex.chain.deployment import ListedMarket
from perpdex.core.eip712 import FeePpm
from perpdex.core.margin import fee, notional
from perpdex.core.types import (
    Collateral,
    MarginMode,
    Price,
    Side,
    Size,
    TimeInForce,
)
from perpdex.core.units import (
    from_collateral_units,
    from_price_units,
    from_size_units,
    to_price_units,
    to_size_units,
    units,
)
from perpdex.sdk.chain_client import Health
from perpdex.sdk.chain_reads import IndexPrice, MarkPrice
from perpdex.sdk.leverage import LeverageSetting
from perpdex.sdk.positions import Position
from perpdex.sdk.values import Candle, Fill, Level, OpenOrder, OrderState, OrderStatus, Trade

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


def level(units: tuple[int, int]) -> Level:
    """A wire book level ``(price units, size units)`` in decimals."""
    price, size = units
    return Level(from_price_units(Price(price)), from_size_units(Size(size)))


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
    stop_loss_price: Decimal | None = None
    take_profit_price: Decimal | None = None


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
        "triggerPrice": _float(order.trigger_price),
        "stopLossPrice": None if terms is None else _float(terms.stop_loss_price),
        "takeProfitPrice": None if terms is None else _float(terms.take_profit_price),
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


def open_order_status(order: OpenOrder) -> OrderStatus:
    """An order on the book now in the history's terms (its average price is unknown
    here: None)."""
    filled = order.size - order.remaining
    return OrderStatus(
        market=order.market,
        order_id=order.order_id,
        order_hash=order.order_hash,
        client_id=order.client_id,
        side=order.side,
        price=order.price,
        size=order.size,
        filled=filled,
        average_price=None,
        state=OrderState.PARTIALLY_FILLED if filled else OrderState.OPEN,
        reason=None,
        seq=0,  # not in the book's view
        updated_seq=0,
        trigger_price=order.trigger_price,
        trigger_direction=order.trigger_direction,
    )


def public_trade_structure(trade: Trade, market: ListedMarket, number: int) -> Json:
    """ccxt's trade structure of a public trade; ``id`` is ``seq-number``, ``number``
    counting the trades of one command from its last (a page that cuts a command cuts its
    first trades, so the ids stay the same from one call to the next)."""
    timestamp = None if trade.time is None else int(trade.time.timestamp() * 1000)
    return {
        "id": f"{trade.seq}-{number}",
        "order": None,
        "timestamp": timestamp,
        "datetime": iso8601(timestamp),
        "symbol": unified_symbol(market),
        "type": None,
        "side": "buy" if trade.side is Side.BUY else "sell",
        "takerOrMaker": "taker",
        "price": float(trade.price),
        "amount": float(trade.size),
        "cost": float(trade.price * trade.size),
        "fee": None,
        "fees": [],
        "info": {"seq": trade.seq, "price": str(trade.price), "size": str(trade.size)},
    }


def ohlcv(candle: Candle) -> list[float]:
    """ccxt's OHLCV row: ``[start ms, open, high, low, close, base volume]``."""
    return [
        int(candle.start.timestamp() * 1000),
        float(candle.open),
        float(candle.high),
        float(candle.low),
        float(candle.close),
        float(candle.volume),
    ]


def ticker_structure(
    market: ListedMarket,
    bid: Level | None,
    ask: Level | None,
    last: Trade | None,
    day: list[Candle],
    mark: MarkPrice,
    index: IndexPrice,
) -> Json:
    """ccxt's ticker: best bid and ask of the book, the last trade, the 24 hours of
    ``day`` (one-hour candles, oldest first), the contract's mark and the oracle's index."""
    opened = day[0].open if day else None
    close = None if last is None else last.price
    timestamp = None if last is None or last.time is None else int(last.time.timestamp() * 1000)
    change = None if opened is None or close is None else close - opened
    return {
        "symbol": unified_symbol(market),
        "timestamp": timestamp,
        "datetime": iso8601(timestamp),
        "high": float(max(c.high for c in day)) if day else None,
        "low": float(min(c.low for c in day)) if day else None,
        "bid": _float(None if bid is None else bid.price),
        "bidVolume": _float(None if bid is None else bid.size),
        "ask": _float(None if ask is None else ask.price),
        "askVolume": _float(None if ask is None else ask.size),
        "vwap": None,
        "open": _float(opened),
        "close": _float(close),
        "last": _float(close),
        "previousClose": None,
        "change": _float(change),
        "percentage": None if change is None or not opened else float(change / opened * 100),
        "average": None if opened is None or close is None else float((opened + close) / 2),
        "baseVolume": float(sum((c.volume for c in day), Decimal(0))),
        "quoteVolume": None,
        "markPrice": float(mark.price),
        "indexPrice": float(index.price),
        "info": {
            "markPrice": str(mark.price),
            "markFresh": mark.fresh,
            "indexPrice": str(index.price),
            "indexTime": index.time.isoformat(),
        },
    }


def funding_rate_structure(
    market: ListedMarket,
    posts: list[FundingPost],
    schedule: FundingSchedule,
    mark: MarkPrice,
    index: IndexPrice,
) -> Json:
    """ccxt's funding rate structure: ``fundingRate`` is the rate of the last post (per
    interval, positive: longs pay shorts), ``nextFundingTimestamp`` when the next post is
    due; perpdex does not predict the next rate (the keeper measures it over the interval)."""
    last = posts[-1] if posts else None
    previous = posts[-2] if len(posts) > 1 else None
    due = schedule.last_posted + schedule.interval_s if schedule.last_posted else None
    return {
        "symbol": unified_symbol(market),
        "markPrice": float(mark.price),
        "indexPrice": float(index.price),
        "interestRate": None,
        "estimatedSettlePrice": None,
        "timestamp": None,
        "datetime": None,
        "fundingRate": None if last is None else float(last.rate),
        "fundingTimestamp": _ms(None if last is None else last.time),
        "fundingDatetime": iso8601(_ms(None if last is None else last.time)),
        "nextFundingRate": None,
        "nextFundingTimestamp": _ms(due),
        "nextFundingDatetime": iso8601(_ms(due)),
        "previousFundingRate": None if previous is None else float(previous.rate),
        "previousFundingTimestamp": _ms(None if previous is None else previous.time),
        "previousFundingDatetime": iso8601(_ms(None if previous is None else previous.time)),
        "interval": _interval(schedule.interval_s),
        "info": {"intervalSeconds": schedule.interval_s, "lastPosted": schedule.last_posted},
    }


def funding_history_entry(market: ListedMarket, post: FundingPost) -> Json:
    """One row of ccxt's funding rate history."""
    timestamp = post.time * 1000
    return {
        "symbol": unified_symbol(market),
        "fundingRate": float(post.rate),
        "timestamp": timestamp,
        "datetime": iso8601(timestamp),
        "info": {"rate": str(post.rate), "price": post.price},
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


def position_structure(position: Position, market: ListedMarket) -> Json:
    """ccxt's position structure of the gateway's view of a position (settled and
    unsettled fills): entry price without fees (the fees paid are in ``info``), the
    unrealised PnL ``(mark - entry) x size``, the liquidation price and the leverage cap.
    ccxt's ``marginRatio`` is maintenance over equity, the inverse of perpdex's
    ``margin_ratio`` (equity over maintenance, liquidated below 1), which ``info`` keeps."""
    contracts = abs(position.size)
    mark = position.mark_price
    notional_value = None if mark is None else contracts * mark
    initial = _fraction_of(notional_value, market.initial_margin_ppm)
    isolated = position.margin_mode is MarginMode.ISOLATED
    pnl = position.unrealised_pnl
    ratio = position.margin_ratio
    return {
        "id": None,
        "symbol": unified_symbol(market),
        "timestamp": None,
        "datetime": None,
        "lastUpdateTimestamp": None,
        "isolated": isolated,
        "hedged": False,
        "side": "long" if position.size > 0 else "short",
        "contracts": float(contracts),
        "contractSize": 1.0,
        "entryPrice": _float(position.entry_price),
        "markPrice": _float(mark),
        "lastPrice": None,
        "notional": _float(notional_value),
        "leverage": float(position.leverage),
        "collateral": float(position.isolated_margin) if isolated else None,
        "initialMargin": _float(initial),
        "initialMarginPercentage": ppm_number(market.initial_margin_ppm),
        "maintenanceMargin": _float(_fraction_of(notional_value, market.maintenance_margin_ppm)),
        "maintenanceMarginPercentage": ppm_number(market.maintenance_margin_ppm),
        "unrealizedPnl": _float(pnl),
        "realizedPnl": None,
        "liquidationPrice": _float(position.liquidation_price),
        "marginMode": MARGIN_MODE[position.margin_mode],
        "marginRatio": None if not ratio else float(1 / ratio),
        "percentage": None if pnl is None or not initial else float(pnl / initial * 100),
        "stopLossPrice": None,
        "takeProfitPrice": None,
        "info": {
            "market": position.market,
            "size": str(position.size),
            "entryPrice": _text(position.entry_price),
            "feesPaid": _text(position.fees_paid),
            "isolatedMargin": str(position.isolated_margin),
            "marginRatio": _text(ratio),
            "leverage": str(position.leverage),
        },
    }


def margin_structure(symbol: str, kind: str, amount: Decimal, total: Decimal) -> Json:
    """ccxt's margin modification structure (``kind``: add or reduce): ``total`` is the
    position's isolated margin after the move."""
    return {
        "symbol": symbol,
        "type": kind,
        "marginMode": "isolated",
        "amount": float(amount),
        "total": float(total),
        "code": SETTLE,
        "status": "ok",
        "timestamp": None,
        "datetime": None,
        "info": {"amount": str(amount), "isolatedMargin": str(total)},
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


def _ms(seconds: int | None) -> int | None:
    return None if seconds is None else seconds * 1000


def _interval(seconds: int) -> str:
    """ccxt's interval text: ``8h``, ``1h``, ``30m``, ``45s``."""
    for unit, length in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % length == 0:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _fraction_of(amount: Decimal | None, ppm: int) -> Decimal | None:
    return None if amount is None else amount * ppm / units().fraction_scale


def _info(frame: Any) -> Json:
    """A wire frame as the JSON the gateway sent (camelCase members)."""
    decoded: Json = msgspec.json.decode(msgspec.json.encode(frame))
    return decoded
