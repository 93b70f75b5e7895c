"""The async unified client: ccxt's method names, arguments and structures over perpdex's
async SDK (:class:`perpdex.sdk.client.Client` for the gateway, its chain client for the
contract's views and custody).

    from perpdex.ccxt.async_support import perpdex

    exchange = perpdex({"privateKey": "0x...", "deployment": "deployments/local.json"})
    await exchange.load_markets()
    order = await exchange.create_order("BTC/USDC:USDC", "limit", "buy", 0.01, 99000)
    await exchange.close()

The gateway connection opens on the first call that needs it (and logs in with the key);
``close()`` (or ``async with``) ends it. Every perpdex error leaves a method as ccxt's
class (:mod:`perpdex.ccxt.error_map`). What perpdex does not support raises NotSupported
and is False in ``has``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from perpdex.ccxt import errors as ccxt
from perpdex.ccxt import structures as unified
from perpdex.ccxt.config import Config, margin_mode, parse_config
from perpdex.ccxt.error_map import translated
from perpdex.ccxt.gateway_http import book_snapshot
from perpdex.ccxt.numbers import Number, amount_to_precision, decimal, price_to_precision
from perpdex.ccxt.structures import Json, OrderTerms
from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Collateral, MarginMode, OrderHash, Side, TimeInForce
from perpdex.core.units import from_price_units
from perpdex.gateway.protocol import parse_order_hash
from perpdex.sdk.chain_client import ChainReader
from perpdex.sdk.client import HISTORY_PAGE, Client, Page, PlacedOrder
from perpdex.sdk.keys import Wallet
from perpdex.sdk.leverage import LeverageSetting
from perpdex.sdk.values import Fill, OrderState, OrderStatus

_OPEN = (OrderState.UNTRIGGERED, OrderState.OPEN, OrderState.PARTIALLY_FILLED)

_Item = TypeVar("_Item")

TICK_SIZE = 4
"""ccxt's ``precisionMode`` constant for precisions given as step sizes."""

TIME_IN_FORCE = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "PO": TimeInForce.POST_ONLY,
}
"""ccxt's ``timeInForce`` param -> perpdex's."""

UNSUPPORTED_ORDER_PARAMS = ("triggerPrice", "stopPrice", "stopLossPrice", "takeProfitPrice")
KNOWN_ORDER_PARAMS = frozenset(
    {
        "timeInForce",
        "postOnly",
        "reduceOnly",
        "clientOrderId",
        "marginMode",
        *UNSUPPORTED_ORDER_PARAMS,
    }
)


class perpdex:
    """One wallet's unified client of one perpdex deployment."""

    id: ClassVar[str] = "perpdex"
    name: ClassVar[str] = "perpdex"
    precisionMode: ClassVar[int] = TICK_SIZE
    has: ClassVar[dict[str, bool | str | None]] = {
        "CORS": None,
        "spot": False,
        "margin": False,
        "swap": True,
        "future": False,
        "option": False,
        "addMargin": False,
        "cancelAllOrders": True,
        "cancelAllOrdersAfter": True,
        "cancelOrder": True,
        "cancelOrders": True,
        "createMarketOrder": True,
        "createLimitOrder": True,
        "createOrder": True,
        "createOrders": True,
        "createPostOnlyOrder": True,
        "createReduceOnlyOrder": True,
        "createStopLossOrder": False,
        "createTakeProfitOrder": False,
        "createTriggerOrder": False,
        "deposit": False,
        "editOrder": True,
        "fetchBalance": True,
        "fetchClosedOrders": True,
        "fetchCurrencies": True,
        "fetchDepositAddress": False,
        "fetchFundingRate": False,
        "fetchFundingRateHistory": False,
        "fetchFundingRates": False,
        "fetchLeverage": True,
        "fetchMarginMode": False,
        "fetchMarkets": True,
        "fetchMyTrades": True,
        "fetchOHLCV": False,
        "fetchOpenOrders": True,
        "fetchOrder": True,
        "fetchOrderBook": True,
        "fetchOrders": True,
        "fetchPosition": True,
        "fetchPositions": True,
        "fetchTicker": True,
        "fetchTickers": True,
        "fetchTime": True,
        "fetchTrades": False,
        "reduceMargin": False,
        "setLeverage": True,
        "setMarginMode": True,
        "withdraw": True,
    }
    """What this client supports, by ccxt's (camelCase) capability names."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._config: Config = parse_config(config or {})
        self.deployment = self._config.deployment
        self.markets: dict[str, Json] = {}
        self.markets_by_id: dict[str, list[Json]] = {}
        self.symbols: list[str] = []
        self.currencies: dict[str, Json] = {}
        self.options: dict[str, Any] = dict((config or {}).get("options") or {})
        self._listed: dict[str, ListedMarket] = {
            unified.unified_symbol(m): m for m in self.deployment.markets
        }
        self._margin_modes: dict[str, MarginMode] = {}
        self._terms: dict[str, OrderTerms] = {}
        self._client: Client | None = None
        self._reader: ChainReader | None = None
        self._connecting = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """End the gateway connection (ccxt's async exchanges must be closed)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def walletAddress(self) -> str | None:
        wallet = self._config.wallet
        return None if wallet is None else wallet.address

    # ------------------------------------------------------------------ markets

    async def load_markets(
        self, reload: bool = False, params: Json | None = None
    ) -> dict[str, Json]:
        """Every listed market, by unified symbol (read from the deployment file)."""
        if reload or not self.markets:
            markets = await self.fetch_markets(params)
            self.markets = {m["symbol"]: m for m in markets}
            self.markets_by_id = {m["id"]: [m] for m in markets}
            self.symbols = sorted(self.markets)
            self.currencies = await self.fetch_currencies()
        return self.markets

    async def fetch_markets(self, params: Json | None = None) -> list[Json]:
        return [unified.market_structure(m) for m in self.deployment.markets]

    async def fetch_currencies(self, params: Json | None = None) -> dict[str, Json]:
        return {unified.SETTLE: unified.currency_structure()}

    def market(self, symbol: str) -> Json:
        """The market structure of a unified symbol (or of a perpdex id: ``BTC-PERP``)."""
        return unified.market_structure(self._market(symbol))

    def amount_to_precision(self, symbol: str, amount: Number) -> str:
        return amount_to_precision(self._market(symbol), amount)

    def price_to_precision(self, symbol: str, price: Number) -> str:
        return price_to_precision(self._market(symbol), price)

    async def fetch_time(self, params: Json | None = None) -> int:
        """The chain's latest block time, in milliseconds."""
        reader = await self._chain_reader()
        with translated():
            return int(await asyncio.to_thread(reader.block_time)) * 1000

    # ------------------------------------------------------------------ market data

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: Json | None = None
    ) -> Json:
        market = self._market(symbol)
        with translated():
            book = await book_snapshot(self._gateway_url(), market.id)
        return unified.order_book_structure(
            unified.unified_symbol(market), book.bids, book.asks, book.seq, limit
        )

    async def fetch_ticker(self, symbol: str, params: Json | None = None) -> Json:
        """Best bid and ask (the gateway's book) and the mark price (the contract's)."""
        market = self._market(symbol)
        reader = await self._chain_reader()
        with translated():
            book = await book_snapshot(self._gateway_url(), market.id)
            mark = await asyncio.to_thread(reader.mark_price, market)
        bid = max(book.bids, default=None)
        ask = min(book.asks, default=None)
        return {
            "symbol": unified.unified_symbol(market),
            "timestamp": None,
            "datetime": None,
            "high": None,
            "low": None,
            "bid": None if bid is None else unified.price_number(bid[0]),
            "bidVolume": None if bid is None else unified.amount_number(bid[1]),
            "ask": None if ask is None else unified.price_number(ask[0]),
            "askVolume": None if ask is None else unified.amount_number(ask[1]),
            "vwap": None,
            "open": None,
            "close": None,
            "last": None,
            "previousClose": None,
            "change": None,
            "percentage": None,
            "average": None,
            "baseVolume": None,
            "quoteVolume": None,
            "markPrice": unified.price_number(mark),
            "indexPrice": None,
            "info": {"book": {"seq": book.seq, "bid": bid, "ask": ask}, "markPrice": mark},
        }

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: Json | None = None
    ) -> dict[str, Json]:
        chosen = symbols or list(self._listed)
        tickers = await asyncio.gather(*(self.fetch_ticker(s) for s in chosen))
        return {t["symbol"]: t for t in tickers}

    # ------------------------------------------------------------------ account

    async def fetch_balance(self, params: Json | None = None) -> Json:
        """The collateral (USDC) as the contract holds it (settled fills)."""
        client = await self._private()
        with translated():
            chain = await client.chain()
            account = await asyncio.to_thread(chain.account, client.address)
            health = await asyncio.to_thread(chain.cross_health, client.address)
            positions = await client.settled_positions()
        isolated = Collateral(sum(p.isolated_margin for p in positions if p.isolated))
        return unified.balance_structure(health, isolated, account.collateral)

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: Json | None = None
    ) -> list[Json]:
        """Open positions as the contract holds them (settled fills), marked at the
        contract's price, with the leverage the gateway holds orders in the market to."""
        client = await self._private()
        wanted = None if symbols is None else {self._market(s).id for s in symbols}
        with translated():
            chain = await client.chain()
            positions = [
                p
                for p in await client.settled_positions()
                if p.size and (wanted is None or p.market.id in wanted)
            ]
            marks = [await asyncio.to_thread(chain.mark_price, p.market) for p in positions]
            leverages = [(await client.leverage(p.market.symbol)).leverage for p in positions]
        return [
            unified.position_structure(p, mark, leverage)
            for p, mark, leverage in zip(positions, marks, leverages, strict=True)
        ]

    async def fetch_position(self, symbol: str, params: Json | None = None) -> Json | None:
        positions = await self.fetch_positions([symbol])
        return positions[0] if positions else None

    async def set_margin_mode(
        self, marginMode: str, symbol: str | None = None, params: Json | None = None
    ) -> Json:
        """perpdex signs the margin mode into every order: this sets the mode of this
        client's next orders in ``symbol``. A position already open in the other mode
        must be closed first (BadRequest says so)."""
        if symbol is None:
            raise ccxt.ArgumentsRequired("set_margin_mode needs a symbol")
        market = self._market(symbol)
        mode = margin_mode(marginMode)
        client = await self._private()
        with translated():
            chain = await client.chain()
            position = await asyncio.to_thread(chain.position, client.address, market)
        held = MarginMode.ISOLATED if position.isolated else MarginMode.CROSS
        if position.size and held is not mode:
            raise ccxt.BadRequest(
                f"the {market.symbol} position is {unified.MARGIN_MODE[held]}: "
                f"close it before trading {unified.MARGIN_MODE[mode]}"
            )
        self._margin_modes[unified.unified_symbol(market)] = mode
        return {"info": {"symbol": market.symbol, "marginMode": unified.MARGIN_MODE[mode]}}

    async def set_leverage(
        self, leverage: Number, symbol: str | None = None, params: Json | None = None
    ) -> Json:
        """Cap this wallet's leverage in ``symbol`` (1 to the market's maximum, at most two
        decimals): the gateway then refuses orders the account could not carry at it.
        Returns the leverage structure."""
        if symbol is None:
            raise ccxt.ArgumentsRequired("set_leverage needs a symbol")
        market = self._market(symbol)
        client = await self._private()
        with translated():
            setting = await client.set_leverage(market.symbol, decimal(leverage, "leverage"))
        return self._leverage(market, setting)

    async def fetch_leverage(self, symbol: str, params: Json | None = None) -> Json:
        """The leverage orders in ``symbol`` are held to (the market's maximum until set)."""
        market = self._market(symbol)
        client = await self._private()
        with translated():
            setting = await client.leverage(market.symbol)
        return self._leverage(market, setting)

    async def withdraw(
        self,
        code: str,
        amount: Number,
        address: str,
        tag: str | None = None,
        params: Json | None = None,
    ) -> Json:
        """Request a withdrawal of ``amount`` USDC to the wallet itself (the Exchange pays
        only the depositor), ready after the Exchange's withdrawal delay; params
        ``{"execute": True}`` instead receives a request that is ready."""
        if code != unified.SETTLE:
            raise ccxt.BadRequest(f"perpdex holds only {unified.SETTLE}, not {code}")
        client = await self._private()
        if address.lower() != client.address.lower():
            raise ccxt.InvalidAddress(
                f"perpdex withdraws to the depositing wallet {client.address}"
            )
        params = params or {}
        info: Json
        with translated():
            if params.get("execute"):
                received = await client.execute_withdrawal()
                status, info = "ok", {"amount": str(received)}
            else:
                request = await client.request_withdrawal(decimal(amount, "amount"))
                status = "pending"
                ready_at = int(request.ready_at.timestamp())
                info = {"amount": str(request.amount), "readyAt": ready_at}
        return {
            "id": None,
            "txid": None,
            "timestamp": None,
            "datetime": None,
            "network": None,
            "address": client.address,
            "addressTo": client.address,
            "addressFrom": self.deployment.contracts.exchange,
            "tag": None,
            "type": "withdrawal",
            "amount": float(info["amount"]),
            "currency": unified.SETTLE,
            "status": status,
            "updated": None,
            "fee": {"currency": unified.SETTLE, "cost": 0.0},
            "internal": False,
            "comment": None,
            "info": info,
        }

    # ------------------------------------------------------------------ orders

    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: Number,
        price: Number | None = None,
        params: Json | None = None,
    ) -> Json:
        """A limit or market order. A market order is an IOC whose worst price is ``price``
        if given, else the best opposite price (the mark price on an empty side) moved by
        ``defaultSlippage`` against the order. Params: ``timeInForce`` (GTC, IOC, FOK, PO),
        ``postOnly``, ``reduceOnly``, ``clientOrderId``, ``marginMode``."""
        market = self._market(symbol)
        params = params or {}
        _check_params(params)
        for name in UNSUPPORTED_ORDER_PARAMS:
            if params.get(name) is not None:
                raise ccxt.NotSupported(f"{name}: trigger orders are not in this perpdex yet")
        time_in_force = _time_in_force(type, params)
        client = await self._private()
        limit = await self._limit_price(market, type, side, price)
        size = decimal(amount, "amount")
        unified_symbol = unified.unified_symbol(market)
        mode = margin_mode(params["marginMode"]) if "marginMode" in params else None
        with translated(bad_value=ccxt.InvalidOrder):
            placed = await client.place(
                market.symbol,
                side,
                size,
                limit,
                time_in_force=time_in_force,
                reduce_only=bool(params.get("reduceOnly", False)),
                margin_mode=mode
                or self._margin_modes.get(unified_symbol, self._config.margin_mode),
                ttl_s=self._config.order_ttl_s,
                client_id=params.get("clientOrderId"),
            )
        terms = OrderTerms(type, time_in_force, bool(params.get("reduceOnly", False)))
        return await self._placed(placed, terms)

    async def create_limit_order(
        self, symbol: str, side: str, amount: Number, price: Number, params: Json | None = None
    ) -> Json:
        return await self.create_order(symbol, "limit", side, amount, price, params)

    async def create_market_order(
        self,
        symbol: str,
        side: str,
        amount: Number,
        price: Number | None = None,
        params: Json | None = None,
    ) -> Json:
        return await self.create_order(symbol, "market", side, amount, price, params)

    async def create_limit_buy_order(
        self, symbol: str, amount: Number, price: Number, params: Json | None = None
    ) -> Json:
        return await self.create_order(symbol, "limit", "buy", amount, price, params)

    async def create_limit_sell_order(
        self, symbol: str, amount: Number, price: Number, params: Json | None = None
    ) -> Json:
        return await self.create_order(symbol, "limit", "sell", amount, price, params)

    async def create_market_buy_order(
        self, symbol: str, amount: Number, params: Json | None = None
    ) -> Json:
        return await self.create_order(symbol, "market", "buy", amount, None, params)

    async def create_market_sell_order(
        self, symbol: str, amount: Number, params: Json | None = None
    ) -> Json:
        return await self.create_order(symbol, "market", "sell", amount, None, params)

    async def create_orders(self, orders: list[Json], params: Json | None = None) -> list[Json]:
        """Each ``{"symbol", "type", "side", "amount", "price", "params"}`` in turn (one
        request each: a refusal raises, the orders before it stand)."""
        return [
            await self.create_order(
                o["symbol"], o["type"], o["side"], o["amount"], o.get("price"), o.get("params")
            )
            for o in orders
        ]

    async def edit_order(
        self,
        id: str,
        symbol: str,
        type: str,
        side: str,
        amount: Number | None = None,
        price: Number | None = None,
        params: Json | None = None,
    ) -> Json:
        """Amend an open order this client placed: a new signed order with the new amount
        and/or price (same side and terms, a new id)."""
        self._market(symbol)
        client = await self._private()
        with translated(bad_value=ccxt.InvalidOrder):
            placed = await client.amend(
                id,
                size=None if amount is None else decimal(amount, "amount"),
                price=None if price is None else decimal(price, "price"),
            )
        return await self._placed(placed, self._terms.get(id))

    async def cancel_order(
        self,
        id: str,
        symbol: str | None = None,
        params: Json | None = None,
    ) -> Json:
        client = await self._private()
        with translated():
            await client.cancel(_order_hash(id))
        return await self.fetch_order(id, symbol)

    async def cancel_orders(
        self, ids: list[str], symbol: str | None = None, params: Json | None = None
    ) -> list[Json]:
        return [await self.cancel_order(i, symbol) for i in ids]

    async def cancel_all_orders(
        self, symbol: str | None = None, params: Json | None = None
    ) -> list[Json]:
        """Cancel every open order (in ``symbol``, or everywhere); returns them as they are
        after the cancel."""
        client = await self._private()
        open_orders = await self.fetch_open_orders(symbol)
        with translated():
            await client.cancel_all(None if symbol is None else self._market(symbol).symbol)
        found = await self._history({o["id"] for o in open_orders})
        return [self._order(found[o["id"]]) for o in open_orders if o["id"] in found]

    async def cancel_all_orders_after(self, timeout: int, params: Json | None = None) -> Json:
        """The dead man's switch: every order is cancelled unless this is called again
        within ``timeout`` milliseconds (0 disarms it)."""
        client = await self._private()
        with translated():
            seq = await client.heartbeat(timeout / 1000)
        return {"info": {"seq": seq, "timeoutMs": timeout}}

    async def fetch_order(
        self, id: str, symbol: str | None = None, params: Json | None = None
    ) -> Json:
        found = await self._history({id})
        if id not in found:
            raise ccxt.OrderNotFound(f"no order {id} in this account's history")
        return self._order(found[id])

    async def fetch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        return await self._orders_where(symbol, limit, lambda _: True)

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        return await self._orders_where(symbol, limit, lambda o: o.state in _OPEN)

    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        return await self._orders_where(symbol, limit, lambda o: o.state not in _OPEN)

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        """The account's fills, oldest first (the last ``limit``)."""
        client = await self._private()
        wanted = None if symbol is None else self._market(symbol).symbol
        fills = [f async for f in _every(client.fills) if wanted is None or f.market == wanted]
        return [self._trade(f) for f in fills[-limit if limit else 0 :]]

    # ------------------------------------------------------------------ not in perpdex yet

    async def fetch_trades(self, symbol: str, *args: Any, **kwargs: Any) -> list[Json]:
        raise ccxt.NotSupported("fetch_trades: perpdex's SDK has no recent-trades query yet")

    async def fetch_ohlcv(self, symbol: str, *args: Any, **kwargs: Any) -> list[list[float]]:
        raise ccxt.NotSupported("fetch_ohlcv: perpdex's SDK has no candles query yet")

    async def fetch_funding_rate(self, symbol: str, params: Json | None = None) -> Json:
        raise ccxt.NotSupported("fetch_funding_rate: perpdex's SDK has no funding query yet")

    async def fetch_funding_rate_history(self, *args: Any, **kwargs: Any) -> list[Json]:
        raise ccxt.NotSupported("fetch_funding_rate_history: no funding history in the SDK yet")

    async def add_margin(self, symbol: str, amount: Number, params: Json | None = None) -> Json:
        raise ccxt.NotSupported("add_margin: the SDK cannot move isolated margin yet")

    async def reduce_margin(self, symbol: str, amount: Number, params: Json | None = None) -> Json:
        raise ccxt.NotSupported("reduce_margin: the SDK cannot move isolated margin yet")

    # ------------------------------------------------------------------ plumbing

    def _market(self, symbol: str) -> ListedMarket:
        """A unified symbol (``BTC/USDC:USDC``) or perpdex's own (``BTC-PERP``)."""
        listed = self._listed.get(symbol)
        if listed is None:
            listed = next((m for m in self._listed.values() if m.symbol == symbol), None)
        if listed is None:
            raise ccxt.BadSymbol(
                f"perpdex has no market {symbol!r} (listed: {sorted(self._listed)})"
            )
        return listed

    def _gateway_url(self) -> str:
        url = self._config.gateway_url
        if url is None:
            raise ccxt.ExchangeNotAvailable(
                "no gateway URL: pass gatewayUrl, or use the deployment file `perpdex up` wrote"
            )
        return url

    async def _connected(self, wallet: Wallet, login: bool) -> Client:
        async with self._connecting:
            if self._client is None:
                client = Client(
                    self._gateway_url(),
                    wallet,
                    self.deployment,
                    state_dir=self._config.state_dir,
                    login=login,
                )
                with translated():
                    await client.__aenter__()
                self._client = client
            return self._client

    async def _private(self) -> Client:
        wallet = self._config.wallet
        if wallet is None:
            raise ccxt.AuthenticationError("this method needs the privateKey in the configuration")
        return await self._connected(wallet, login=True)

    async def _chain_reader(self) -> ChainReader:
        """The contract's views (no key needed)."""
        if self._reader is None:
            with translated():
                self._reader = await asyncio.to_thread(ChainReader, self.deployment)
        return self._reader

    async def _limit_price(
        self, market: ListedMarket, type: str, side: str, price: Number | None
    ) -> Decimal:
        if price is not None:
            return decimal(price, "price")
        if type != "market":
            raise ccxt.ArgumentsRequired("a limit order needs a price")
        book = await self.fetch_order_book(unified.unified_symbol(market), 1)
        best = book["asks" if side == "buy" else "bids"]
        if best:
            reference = decimal(best[0][0], "price")
        else:
            reader = await self._chain_reader()
            with translated():
                mark = await asyncio.to_thread(reader.mark_price, market)
            reference = from_price_units(mark)
        return _worst_price(market, side, reference, self._config.slippage)

    async def _placed(self, placed: PlacedOrder, terms: OrderTerms | None) -> Json:
        """The order just placed, as the account's history shows it (an IOC may be filled
        or cancelled already)."""
        order_id = "0x" + placed.order_hash.hex()
        if terms is not None:
            self._terms[order_id] = terms
        found = await self._history({order_id})
        signed = placed.signed.order
        as_placed = OrderStatus(  # if the history lags the ack: as accepted
            market=self._by_id(signed.market).symbol,
            order_id=placed.order_id,
            order_hash=order_id,
            client_id=placed.client_id,
            side=Side.BUY if signed.is_buy else Side.SELL,
            price=from_price_units(signed.limit_price),
            size=placed.size,
            filled=Decimal(0),
            average_price=None,
            state=OrderState.OPEN,
            reason=None,
            seq=placed.seq,
            updated_seq=placed.seq,
        )
        return self._order(found.get(order_id, as_placed))

    async def _history(self, ids: Iterable[str]) -> dict[str, OrderStatus]:
        """These orders of the account's history (a scan of its pages)."""
        wanted = set(ids)
        client = await self._private()
        found: dict[str, OrderStatus] = {}
        async for order in _every(client.order_history):
            if order.order_hash in wanted:
                found[order.order_hash] = order  # a later page holds the newer state
        return found

    async def _orders_where(
        self, symbol: str | None, limit: int | None, keep: Callable[[OrderStatus], bool]
    ) -> list[Json]:
        client = await self._private()
        wanted = None if symbol is None else self._market(symbol).symbol
        orders = [
            o
            async for o in _every(client.order_history)
            if (wanted is None or o.market == wanted) and keep(o)
        ]
        return [self._order(o) for o in orders[-limit if limit else 0 :]]

    def _order(self, order: OrderStatus) -> Json:
        market = self._market(order.market)
        return unified.order_structure(order, market, self._terms.get(order.order_hash))

    def _trade(self, fill: Fill) -> Json:
        return unified.trade_structure(fill, self._market(fill.market))

    def _leverage(self, market: ListedMarket, setting: LeverageSetting) -> Json:
        symbol = unified.unified_symbol(market)
        mode = self._margin_modes.get(symbol, self._config.margin_mode)
        return unified.leverage_structure(symbol, setting, mode)

    def _by_id(self, market_id: int) -> ListedMarket:
        return next(m for m in self._listed.values() if m.id == market_id)


def _check_params(params: Json) -> None:
    unknown = set(params) - KNOWN_ORDER_PARAMS
    if unknown:
        raise ccxt.BadRequest(f"unknown order params {sorted(unknown)}")


def _time_in_force(type: str, params: Json) -> TimeInForce:
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


def _worst_price(market: ListedMarket, side: str, reference: Decimal, slippage: Decimal) -> Decimal:
    """``reference`` moved by ``slippage`` against a market order, rounded to the tick
    toward the reference (the order never accepts more than the slippage)."""
    tick = from_price_units(market.tick_size)
    if side == "buy":
        ticks = (reference * (1 + slippage) / tick).to_integral_value(ROUND_FLOOR)
    else:
        ticks = (reference * (1 - slippage) / tick).to_integral_value(ROUND_CEILING)
    return max(ticks, Decimal(1)) * tick


def _order_hash(order_id: str) -> OrderHash:
    try:
        return parse_order_hash(order_id)
    except ValueError:
        raise ccxt.OrderNotFound(
            f"{order_id!r} is not a perpdex order id (0x and 64 hex digits)"
        ) from None


async def _every(read: Callable[[int, int], Awaitable[Page[_Item]]]) -> AsyncIterator[_Item]:
    """Every item of a paged history, oldest first."""
    cursor: int | None = 0
    while cursor is not None:
        with translated():
            page = await read(cursor, HISTORY_PAGE)
        for item in page.items:
            yield item
        cursor = page.next


def _camel_case(name: str) -> str:
    """ccxt's camelCase alias of a method: ``fetch_ohlcv`` -> ``fetchOHLCV``."""
    first, *rest = name.split("_")
    return first + "".join("OHLCV" if word == "ohlcv" else word.capitalize() for word in rest)


for _name, _method in list(vars(perpdex).items()):
    if not _name.startswith("_") and "_" in _name and callable(_method):
        setattr(perpdex, _camel_case(_name), _method)
