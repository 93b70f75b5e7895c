"""The ``has`` map: what the unified client supports, by ccxt's camelCase capability names.
False means the method raises NotSupported (a unit test holds the two together)."""

from __future__ import annotations

from typing import Final

HAS: Final[dict[str, bool | None]] = {
    "CORS": None,
    "spot": False,
    "margin": False,
    "swap": True,
    "future": False,
    "option": False,
    "addMargin": True,
    "cancelAllOrders": True,
    "cancelAllOrdersAfter": True,
    "cancelOrder": True,
    "cancelOrders": True,
    "createLimitOrder": True,
    "createMarketOrder": True,
    "createOrder": True,
    "createOrders": True,
    "createPostOnlyOrder": True,
    "createReduceOnlyOrder": True,
    "createStopLossOrder": True,
    "createTakeProfitOrder": True,
    "createTriggerOrder": True,
    "deposit": False,
    "editOrder": True,
    "fetchBalance": True,
    "fetchClosedOrders": True,
    "fetchCurrencies": True,
    "fetchDepositAddress": False,
    "fetchFundingRate": True,
    "fetchFundingRateHistory": True,
    "fetchFundingRates": True,
    "fetchLeverage": True,
    "fetchMarginMode": True,
    "fetchMarkets": True,
    "fetchMyTrades": True,
    "fetchOHLCV": True,
    "fetchOpenOrders": True,
    "fetchOrder": True,
    "fetchOrderBook": True,
    "fetchOrders": True,
    "fetchPosition": True,
    "fetchPositions": True,
    "fetchTicker": True,
    "fetchTickers": True,
    "fetchTime": True,
    "fetchTrades": True,
    "reduceMargin": True,
    "setLeverage": True,
    "setMarginMode": True,
    "withdraw": True,
}

TIMEFRAMES: Final = {"1m": "1m", "5m": "5m", "15m": "15m", "1h": "1h", "4h": "4h", "1d": "1d"}
"""ccxt's ``timeframes``: the candle intervals the gateway keeps."""
