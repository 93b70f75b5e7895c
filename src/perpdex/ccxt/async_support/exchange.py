"""The async unified client: ccxt's method names, arguments and structures over perpdex's
async SDK (:class:`perpdex.sdk.client.Client`: the gateway's WebSocket and HTTP API, and
the chain).

    from perpdex.ccxt.async_support import perpdex

    exchange = perpdex({"privateKey": "0x...", "deployment": "deployments/local.json"})
    await exchange.load_markets()
    order = await exchange.create_order("BTC/USDC:USDC", "limit", "buy", 0.01, 99000)
    await exchange.close()

Reads go over HTTP and need no connection; the WebSocket opens (and logs in with the key)
on the first call that needs it: orders, cancels, leverage. ``close()`` (or ``async with``)
ends it. Without a ``privateKey`` the public methods work and the private ones raise
AuthenticationError. Argument names are ccxt's (``type``, ``id``, ``marginMode``), even
where they shadow a builtin. Every perpdex error leaves a method as ccxt's class
(:mod:`perpdex.ccxt.error_map`); what perpdex does not support raises NotSupported and is
False in ``has``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from perpdex.ccxt import errors as ccxt
from perpdex.ccxt import funding_rates
from perpdex.ccxt import structures as unified
from perpdex.ccxt.capabilities import HAS, TIMEFRAMES
from perpdex.ccxt.config import Config, margin_mode, parse_config
from perpdex.ccxt.error_map import translated
from perpdex.ccxt.numbers import Number, amount_to_precision, decimal, price_to_precision
from perpdex.ccxt.order_params import OrderParams, order_params, worst_price
from perpdex.ccxt.structures import Json, OrderTerms
from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Collateral, MarginMode
from perpdex.core.units import to_price_units, to_size_units
from perpdex.gateway.protocol import BookSnapshot
from perpdex.sdk.client import HISTORY_PAGE, Client, OrderSpec, Page, PlacedOrder
from perpdex.sdk.gateway_errors import GatewayError
from perpdex.sdk.keys import Wallet
from perpdex.sdk.leverage import LeverageSetting
from perpdex.sdk.values import OrderState, OrderStatus

_Item = TypeVar("_Item")

TICK_SIZE = 4
"""ccxt's ``precisionMode`` constant for precisions given as step sizes."""
DAY_CANDLES = 24
"""One-hour candles a ticker's 24-hour figures are taken from."""
DEFAULT_TRADES = 100
DEFAULT_CANDLES = 100

_OPEN = (OrderState.UNTRIGGERED, OrderState.OPEN, OrderState.PARTIALLY_FILLED)


class perpdex:
    """One wallet's unified client of one perpdex deployment."""

    id: ClassVar[str] = "perpdex"
    name: ClassVar[str] = "perpdex"
    precisionMode: ClassVar[int] = TICK_SIZE
    has: ClassVar[dict[str, bool | None]] = HAS
    timeframes: ClassVar[dict[str, str]] = TIMEFRAMES

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
        self._connected = False
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
        client, self._client, self._connected = self._client, None, False
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
        client = self._reads()
        with translated():
            chain = await client.chain()
            return int(await asyncio.to_thread(chain.block_time)) * 1000

    # ------------------------------------------------------------------ market data

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: Json | None = None
    ) -> Json:
        market = self._market(symbol)
        book = await self._book(market)
        return unified.order_book_structure(
            unified.unified_symbol(market), book.bids, book.asks, book.seq, limit
        )

    async def fetch_ticker(self, symbol: str, params: Json | None = None) -> Json:
        """Best bid and ask (the gateway's book), the last trade and 24 hours of one-hour
        candles (the gateway's tape), the mark (the contract's) and index (the oracle's)."""
        market = self._market(symbol)
        client = self._reads()
        book = await self._book(market)
        with translated():
            last = await client.recent_trades(market.symbol, 1)
            day = await client.candles(market.symbol, "1h", DAY_CANDLES)
            mark = await client.mark_price(market.symbol)
            index = await client.index_price(market.symbol)
        bid = max(book.bids, default=None)
        ask = min(book.asks, default=None)
        return unified.ticker_structure(
            market,
            None if bid is None else unified.level(bid),
            None if ask is None else unified.level(ask),
            last[0] if last else None,
            day,
            mark,
            index,
        )

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: Json | None = None
    ) -> dict[str, Json]:
        chosen = symbols or list(self._listed)
        tickers = await asyncio.gather(*(self.fetch_ticker(s) for s in chosen))
        return {t["symbol"]: t for t in tickers}

    async def fetch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        """The market's recent public trades, oldest first (at most 1000: the gateway's
        tape), from ``since`` (ms) on."""
        market = self._market(symbol)
        client = self._reads()
        with translated():
            newest_first = await client.recent_trades(market.symbol, limit or DEFAULT_TRADES)
        numbered: list[Json] = []
        for i, trade in enumerate(newest_first):
            later_in_command = i and newest_first[i - 1].seq == trade.seq
            number = numbered[-1]["info"]["number"] + 1 if later_in_command else 0
            entry = unified.public_trade_structure(trade, market, number)
            entry["info"]["number"] = number
            numbered.append(entry)
        oldest_first = numbered[::-1]
        return [t for t in oldest_first if since is None or (t["timestamp"] or 0) >= since]

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[list[float]]:
        """``[start ms, open, high, low, close, volume]`` rows, oldest first; a timeframe
        without trades has no row (the gateway's tape keeps 1m, 5m, 15m, 1h, 4h, 1d)."""
        market = self._market(symbol)
        if timeframe not in TIMEFRAMES:
            raise ccxt.BadRequest(f"timeframe must be one of {sorted(TIMEFRAMES)}")
        client = self._reads()
        with translated():
            candles = await client.candles(market.symbol, timeframe, limit or DEFAULT_CANDLES)
        rows = [unified.ohlcv(c) for c in candles]
        return [row for row in rows if since is None or row[0] >= since]

    async def fetch_funding_rate(self, symbol: str, params: Json | None = None) -> Json:
        """The rate of the market's last funding post (per interval; positive: longs pay
        shorts), when the next is due, the mark and index prices."""
        market = self._market(symbol)
        client = self._reads()
        with translated():
            chain = await client.chain()
            posts = await asyncio.to_thread(funding_rates.posts, chain, market)
            schedule = await asyncio.to_thread(funding_rates.schedule, chain, market)
            mark = await client.mark_price(market.symbol)
            index = await client.index_price(market.symbol)
        return unified.funding_rate_structure(market, posts, schedule, mark, index)

    async def fetch_funding_rates(
        self, symbols: list[str] | None = None, params: Json | None = None
    ) -> dict[str, Json]:
        chosen = symbols or list(self._listed)
        rates = [await self.fetch_funding_rate(s) for s in chosen]
        return {r["symbol"]: r for r in rates}

    async def fetch_funding_rate_history(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        """Every funding post of the market from ``since`` (ms) on, oldest first (the
        last ``limit``)."""
        if symbol is None:
            raise ccxt.ArgumentsRequired("fetch_funding_rate_history needs a symbol")
        market = self._market(symbol)
        client = self._reads()
        since_s = 0 if since is None else since // 1000
        with translated():
            chain = await client.chain()
            posts = await asyncio.to_thread(funding_rates.posts, chain, market, since_s)
        history = [unified.funding_history_entry(market, p) for p in posts]
        return history[-limit:] if limit else history

    # ------------------------------------------------------------------ account

    async def fetch_balance(self, params: Json | None = None) -> Json:
        """The collateral (USDC) as the contract holds it (settled fills)."""
        client = self._private_reads()
        with translated():
            chain = await client.chain()
            account = await asyncio.to_thread(chain.account, client.address)
            health = await asyncio.to_thread(chain.cross_health, client.address)
            positions = await asyncio.to_thread(chain.positions, client.address)
        isolated = Collateral(sum(p.isolated_margin for p in positions if p.isolated))
        return unified.balance_structure(health, isolated, account.collateral)

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: Json | None = None
    ) -> list[Json]:
        """Open positions as the gateway's position manager holds them (settled and
        unsettled fills), with entry price, PnL, liquidation price and leverage."""
        client = self._private_reads()
        wanted = None if symbols is None else {self._market(s).symbol for s in symbols}
        with translated():
            positions = await client.positions()
        return [
            unified.position_structure(p, self._market(p.market))
            for p in positions
            if p.size and (wanted is None or p.market in wanted)
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
        client = self._private_reads()
        with translated():
            held = {p.market: p.margin_mode for p in await client.positions() if p.size}
        if held.get(market.symbol, mode) is not mode:
            raise ccxt.BadRequest(
                f"the {market.symbol} position is {unified.MARGIN_MODE[held[market.symbol]]}: "
                f"close it before trading {unified.MARGIN_MODE[mode]}"
            )
        self._margin_modes[unified.unified_symbol(market)] = mode
        return {"info": {"symbol": market.symbol, "marginMode": unified.MARGIN_MODE[mode]}}

    async def fetch_margin_mode(self, symbol: str, params: Json | None = None) -> Json:
        """The mode of the open position in ``symbol``, else of this client's next orders."""
        market = self._market(symbol)
        client = self._private_reads()
        with translated():
            held = {p.market: p.margin_mode for p in await client.positions() if p.size}
        # a membership test: MarginMode.CROSS is 0, so `or` would pass over a cross position
        if market.symbol in held:
            mode = held[market.symbol]
        else:
            mode = self._margin_modes.get(unified.unified_symbol(market), self._config.margin_mode)
        return {
            "symbol": unified.unified_symbol(market),
            "marginMode": unified.MARGIN_MODE[mode],
            "info": {"position": market.symbol in held},
        }

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

    async def add_margin(self, symbol: str, amount: Number, params: Json | None = None) -> Json:
        """Move ``amount`` USDC of cross collateral into the isolated position in
        ``symbol`` (on chain)."""
        return await self._move_margin(symbol, amount, "add")

    async def reduce_margin(self, symbol: str, amount: Number, params: Json | None = None) -> Json:
        """Move ``amount`` USDC out of the isolated position in ``symbol`` back to cross."""
        return await self._move_margin(symbol, amount, "reduce")

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
        client = self._private_reads()
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
        spec, terms = await self._order_spec(symbol, type, side, amount, price, params or {})
        client = await self._private()
        with translated(bad_value=ccxt.InvalidOrder):
            placed = await client.place(
                spec.market,
                spec.side,
                spec.size,
                spec.price,
                time_in_force=spec.time_in_force,
                reduce_only=spec.reduce_only,
                margin_mode=spec.margin_mode,
                ttl_s=spec.ttl_s,
                client_id=spec.client_id,
                trigger_price=spec.trigger_price,
                trigger=spec.trigger,
            )
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
        """``{"symbol", "type", "side", "amount", "price", "params"}`` each, placed in
        batches (up to 100 per frame); an order the gateway refused comes back ``rejected``
        with its error in ``info`` (the others stand). Arguments that cannot make an order
        raise before anything is sent."""
        specs = [
            await self._order_spec(
                o["symbol"],
                o["type"],
                o["side"],
                o["amount"],
                o.get("price"),
                o.get("params") or {},
            )
            for o in orders
        ]
        client = await self._private()
        with translated(bad_value=ccxt.InvalidOrder):
            results = await client.place_many([spec for spec, _ in specs])
        placed: list[Json] = []
        for (spec, terms), result in zip(specs, results, strict=True):
            if isinstance(result, GatewayError):
                placed.append(_rejected(spec, result))
            else:
                placed.append(await self._placed(result, terms))
        return placed

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
        """Amend an open order: a new signed order with the new amount and/or price (same
        side and terms, a new id; the history keeps it under the new id only). Params
        ``clientOrderId`` names the order by its client id instead of ``id``."""
        self._market(symbol)
        client_id = (params or {}).get("clientOrderId")
        client = await self._private()
        with translated(bad_value=ccxt.InvalidOrder):
            placed = await client.amend(
                None if client_id is not None else id,
                client_id=client_id,
                size=None if amount is None else decimal(amount, "amount"),
                price=None if price is None else decimal(price, "price"),
            )
        return await self._placed(placed, self._terms.get(id))

    async def cancel_order(
        self, id: str, symbol: str | None = None, params: Json | None = None
    ) -> Json:
        """A signed cancel; params ``clientOrderId`` names the order by its client id.
        Returns the order, ``canceled``."""
        order_id = await self._order_id(id, params)
        client = await self._private()
        with translated():
            await client.cancel(order_id)
        return await self.fetch_order(order_id, symbol)

    async def cancel_orders(
        self, ids: list[str], symbol: str | None = None, params: Json | None = None
    ) -> list[Json]:
        return [await self.cancel_order(i, symbol) for i in ids]

    async def cancel_all_orders(
        self, symbol: str | None = None, params: Json | None = None
    ) -> list[Json]:
        """Cancel every open order (in ``symbol``, or everywhere); returns the orders that
        were open, as they are after the cancel."""
        market = None if symbol is None else self._market(symbol).symbol
        client = await self._private()
        with translated():
            was_open = await client.open_orders(market)
            await client.cancel_all(market)
            after = [await client.order_status(o.order_hash) for o in was_open]
        return [self._order(o) for o in after]

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
        """By id, or by params ``clientOrderId`` (the newest order with it)."""
        client_id = (params or {}).get("clientOrderId")
        client = self._private_reads()
        with translated():
            if client_id is not None:
                return self._order(await client.order_status(client_id=client_id))
            return self._order(await client.order_status(_order_hash(id)))

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
        """The orders on the book now (the gateway's live state), oldest first."""
        client = self._private_reads()
        with translated():
            found = await client.open_orders(
                None if symbol is None else self._market(symbol).symbol
            )
        orders = [self._order(unified.open_order_status(o)) for o in found]
        return orders[-limit:] if limit else orders

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
        client = self._private_reads()
        wanted = None if symbol is None else self._market(symbol).symbol
        fills = [f async for f in _every(client.fills) if wanted is None or f.market == wanted]
        trades = [unified.trade_structure(f, self._market(f.market)) for f in fills]
        return trades[-limit:] if limit else trades

    # ------------------------------------------------------------------ not in perpdex

    async def deposit(self, *args: Any, **kwargs: Any) -> Json:
        raise ccxt.NotSupported("deposit from the wallet with the SDK or `perpdex deposit`")

    async def fetch_deposit_address(self, code: str, params: Json | None = None) -> Json:
        raise ccxt.NotSupported("perpdex has no deposit address: the wallet deposits itself")

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

    def _reads(self) -> Client:
        """The SDK client, for reads over HTTP and from the chain (no connection needed);
        without a key it holds a throwaway wallet that never signs."""
        if self._client is None:
            url = self._config.gateway_url
            if url is None:
                raise ccxt.ExchangeNotAvailable(
                    "no gateway URL: pass gatewayUrl, or use the deployment file `perpdex up` wrote"
                )
            wallet = self._config.wallet
            self._client = Client(
                url,
                wallet or Wallet.from_private_key(secrets.token_bytes(32)),
                self.deployment,
                state_dir=self._config.state_dir,
                login=wallet is not None,
            )
        return self._client

    def _private_reads(self) -> Client:
        if self._config.wallet is None:
            raise ccxt.AuthenticationError("this method needs the privateKey in the configuration")
        return self._reads()

    async def _private(self) -> Client:
        """The SDK client with its WebSocket up and logged in."""
        client = self._private_reads()
        async with self._connecting:
            if not self._connected:
                with translated():
                    await client.__aenter__()
                self._connected = True
        return client

    async def _book(self, market: ListedMarket) -> BookSnapshot:
        """The market's whole book (the HTTP API's): no subscription needed; in the
        contract's integers, as the book stream carries it."""
        client = self._reads()
        with translated():
            view = await client.order_book(market.symbol)
        return BookSnapshot(
            market=market.id,
            seq=view.seq,
            bids=[(to_price_units(p), to_size_units(s)) for p, s in view.bids],
            asks=[(to_price_units(p), to_size_units(s)) for p, s in view.asks],
        )

    async def _order_spec(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: Number,
        price: Number | None,
        params: Json,
    ) -> tuple[OrderSpec, OrderTerms]:
        """ccxt's order arguments as the SDK's order and the terms ccxt reports."""
        market = self._market(symbol)
        terms = order_params(type, params)
        if side not in ("buy", "sell"):
            raise ccxt.InvalidOrder(f"side must be buy or sell, got {side!r}")
        trigger = await self._trigger(market, side, terms)
        reference = None if trigger is None else trigger[0]
        spec = OrderSpec(
            market.symbol,
            side,
            decimal(amount, "amount"),
            await self._limit_price(market, type, side, price, reference),
            time_in_force=terms.time_in_force,
            reduce_only=terms.reduce_only or terms.closes,
            margin_mode=self._margin_mode(market, terms),
            ttl_s=self._config.order_ttl_s,
            client_id=terms.client_id,
            trigger_price=None if trigger is None else trigger[0],
            trigger=None if trigger is None else trigger[1],
        )
        reported = OrderTerms(
            type,
            terms.time_in_force,
            spec.reduce_only,
            terms.stop_loss_price,
            terms.take_profit_price,
        )
        return spec, reported

    async def _trigger(
        self, market: ListedMarket, side: str, terms: OrderParams
    ) -> tuple[Decimal, str] | None:
        """The trigger price and direction (``above``/``below``) of a trigger order. A
        stop-loss fires against the position it closes (a sell at or below its price, a buy
        at or above), a take-profit in its favour; a plain ``triggerPrice`` fires in
        ``triggerDirection``, else toward it from the index price now."""
        if terms.stop_loss_price is not None:
            return terms.stop_loss_price, "below" if side == "sell" else "above"
        if terms.take_profit_price is not None:
            return terms.take_profit_price, "above" if side == "sell" else "below"
        if terms.trigger_price is None:
            return None
        direction = terms.trigger_direction
        if direction is None:
            with translated():
                index = (await self._reads().index_price(market.symbol)).price
            direction = "above" if terms.trigger_price > index else "below"
        return terms.trigger_price, direction

    def _margin_mode(self, market: ListedMarket, terms: OrderParams) -> MarginMode | None:
        """The param, else the symbol's mode (``set_margin_mode``); a reduce-only order
        without either takes its position's mode (the SDK looks it up)."""
        if terms.margin_mode is not None:
            return terms.margin_mode
        chosen = self._margin_modes.get(unified.unified_symbol(market))
        if chosen is not None or terms.reduce_only:
            return chosen
        return self._config.margin_mode

    async def _limit_price(
        self,
        market: ListedMarket,
        type: str,
        side: str,
        price: Number | None,
        trigger: Decimal | None,
    ) -> Decimal:
        """The signed limit: ``price``, or a market order's worst price, past the trigger
        price for a trigger order (it is a market order once released), else past the best
        opposite price (the mark's on an empty side)."""
        if price is not None:
            return decimal(price, "price")
        if type != "market":
            raise ccxt.ArgumentsRequired("a limit order needs a price")
        if trigger is not None:
            return worst_price(market, side, trigger, self._config.slippage)
        book = await self._book(market)
        best = min(book.asks, default=None) if side == "buy" else max(book.bids, default=None)
        if best is not None:
            reference = unified.level(best).price
        else:
            with translated():
                reference = (await self._reads().mark_price(market.symbol)).price
        return worst_price(market, side, reference, self._config.slippage)

    async def _placed(self, placed: PlacedOrder, terms: OrderTerms | None) -> Json:
        """The order just placed, as the account's history shows it (an IOC may be filled
        or cancelled already)."""
        order_id = "0x" + placed.order_hash.hex()
        if terms is not None:
            self._terms[order_id] = terms
        client = self._private_reads()
        with translated():
            return self._order(await client.order_status(order_id))

    async def _order_id(self, id: str, params: Json | None) -> str:
        client_id = (params or {}).get("clientOrderId")
        if client_id is None:
            _order_hash(id)
            return id
        with translated():
            return (await self._private_reads().order_status(client_id=client_id)).order_hash

    async def _orders_where(
        self, symbol: str | None, limit: int | None, keep: Callable[[OrderStatus], bool]
    ) -> list[Json]:
        """The account's orders from its history (a scan of its pages), oldest first."""
        client = self._private_reads()
        wanted = None if symbol is None else self._market(symbol).symbol
        orders = [
            self._order(o)
            async for o in _every(client.order_history)
            if (wanted is None or o.market == wanted) and keep(o)
        ]
        return orders[-limit:] if limit else orders

    def _order(self, order: OrderStatus) -> Json:
        market = self._market(order.market)
        return unified.order_structure(order, market, self._terms.get(order.order_hash))

    def _leverage(self, market: ListedMarket, setting: LeverageSetting) -> Json:
        symbol = unified.unified_symbol(market)
        mode = self._margin_modes.get(symbol, self._config.margin_mode)
        return unified.leverage_structure(symbol, setting, mode)

    async def _move_margin(self, symbol: str, amount: Number, kind: str) -> Json:
        market = self._market(symbol)
        moved = decimal(amount, "amount")
        client = self._private_reads()
        move = client.add_margin if kind == "add" else client.remove_margin
        with translated():
            total = await move(market.symbol, moved)
        return unified.margin_structure(unified.unified_symbol(market), kind, moved, total)


def _rejected(spec: OrderSpec, error: GatewayError) -> Json:
    """A batch's refused order, as ccxt reports one: ``rejected``, the error in ``info``."""
    return {
        "id": None,
        "clientOrderId": spec.client_id,
        "status": "rejected",
        "symbol": spec.market,
        "side": str(spec.side),
        "amount": float(Decimal(spec.size)),
        "price": float(Decimal(spec.price)),
        "info": {"code": error.code.value, "message": error.message, "reason": error.reason},
    }


def _order_hash(order_id: str) -> str:
    """``order_id`` if it is an order hash (0x and 64 hex digits), else OrderNotFound."""
    digits = order_id.removeprefix("0x")
    if len(order_id) != 66 or not order_id.startswith("0x") or not _is_hex(digits):
        raise ccxt.OrderNotFound(f"{order_id!r} is not a perpdex order id (0x and 64 hex digits)")
    return order_id


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


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
