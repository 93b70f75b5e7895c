"""The async trader client: orders and subscriptions over the gateway's WebSocket, custody
on chain.

    async with Client.connect(url, private_key, deployment) as client:
        placed = await client.place("BTC-PERP", "buy", "0.01", "100000")
        async for book in await client.book("BTC-PERP"):
            ...

Orders are signed here (EIP-712, the wallet's key) with nonces from
:class:`perpdex.sdk.nonces.NonceAllocator`, so the gateway and the contract check exactly
what the trader agreed to. The connection is kept up by a background task: when it drops,
requests in flight fail with :class:`ConnectionLostError`, new requests wait for the next
connection, and every subscription is renewed on it (after a login if the client logs in),
a book subscription from a fresh snapshot, the account subscription from the last event it
yielded (over HTTP first if the gateway says it is too far back). The account's history
(fills, orders, every event) is read in pages over the gateway's HTTP API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import random
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import msgspec
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from perpdex.chain.deployment import Deployment, ListedMarket
from perpdex.core.eip712 import (
    NO_SESSION_KEY,
    Cancel,
    ChainId,
    Eip712Domain,
    FeePpm,
    Login,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    sign_cancel,
    sign_login,
    sign_order,
)
from perpdex.core.types import Address, MarginMode, MarketId, OrderHash, Side, TimeInForce
from perpdex.core.units import from_collateral_units, to_price_units, to_size_units
from perpdex.gateway.protocol import (
    AccountUpdate,
    Ack,
    Amended,
    AmendRequest,
    BookSnapshot,
    BookUpdate,
    CancelAllRequest,
    CancelRequest,
    Channel,
    Error,
    Fill,
    FillRejected,
    Frame,
    GetLeverageRequest,
    Leverage,
    LoggedIn,
    LoginRequest,
    OrderUpdate,
    Placed,
    PlaceRequest,
    ReceiptIssued,
    Request,
    ScheduleCancelRequest,
    SetLeverageRequest,
    Subscribed,
    SubscribeRequest,
    UnsubscribeRequest,
    WireCancel,
    WireLogin,
    WireOrder,
    decode_server_frames,
    hex0x,
    parse_order_hash,
)
from perpdex.gateway.protocol import Trade as TradeFrame
from perpdex.http import models as api
from perpdex.receipts import ReceiptStore, SignedReceipt, receipt_domain, trader_directory
from perpdex.sdk import chain_reads, margin, values
from perpdex.sdk.amounts import DecimalLike, collateral_amount, order_price, order_size
from perpdex.sdk.batch import DEFAULT_ORDER_TTL_S, OrderSpec, frames
from perpdex.sdk.book import BookView
from perpdex.sdk.chain_client import ChainClient
from perpdex.sdk.chain_reads import FundingPayment, IndexPrice, MarkPrice
from perpdex.sdk.gateway_errors import (
    ConnectionLostError,
    GatewayError,
    GatewayInternalError,
    GatewayUnavailableError,
    ResumeTooOldError,
    UnknownOrderError,
    gateway_error,
)
from perpdex.sdk.gateway_http import discover_http_url, http_get
from perpdex.sdk.keys import Wallet
from perpdex.sdk.leverage import LeverageSetting
from perpdex.sdk.markets import Markets
from perpdex.sdk.nonces import default_state_dir, trader_allocator
from perpdex.sdk.positions import Position, SettledPosition
from perpdex.sdk.receipts import TraderReceipts
from perpdex.sdk.subscriptions import (
    AccountSubscription,
    BookSubscription,
    Subscription,
    TradeSubscription,
)
from perpdex.sdk.triggers import (
    DEFAULT_CLOSE_SLIPPAGE,
    DEFAULT_TRIGGER_SLIPPAGE,
    Trigger,
    TriggerError,
    TriggerLike,
    attached,
    market_close,
    superseded,
)
from perpdex.sdk.values import Candle, Level, OpenOrder, OrderStatus, Trade

log = logging.getLogger(__name__)

CANCEL_TTL_S = 60
"""A signed cancel is void after a minute: a captured one cannot be replayed later."""
LOGIN_TTL_S = 3_600
RELOGIN_MARGIN_S = 60
REQUEST_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
RECONNECT_DELAYS_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
HISTORY_PAGE = 1000
"""Events per HTTP page when an account subscription catches up before resuming."""
MAX_TRACKED_ORDERS = 10_000
"""Orders this client placed, kept for :meth:`Client.amend` (oldest forgotten first)."""
RECEIPT_WAIT_S = 5.0
"""How long :meth:`Client.close` waits for the receipts of acknowledged orders."""

_Response = TypeVar("_Response", bound=Frame)
_Decoded = TypeVar("_Decoded")
_Item = TypeVar("_Item")
_SubscriptionKey = tuple[Channel, MarketId | None]


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order the engine accepted."""

    signed: SignedOrder
    order_id: int
    seq: int
    size: Decimal
    """The accepted size (a reduce-only order may be clipped)."""
    client_id: str | None = None

    @property
    def order_hash(self) -> OrderHash:
        return self.signed.order_hash

    @property
    def nonce(self) -> Nonce:
        return self.signed.order.nonce


@dataclass(frozen=True, slots=True)
class Page(Generic[_Item]):
    """One page of a history; pass ``next`` as ``after`` for the next (None: the end)."""

    items: list[_Item]
    next: int | None


class Client:
    """One trader's connection to a perpdex gateway (use it as an async context manager)."""

    def __init__(
        self,
        url: str,
        wallet: Wallet,
        deployment: Deployment,
        *,
        state_dir: Path | None = None,
        login: bool = True,
        cancel_on_disconnect: bool = False,
        keep_receipts: bool = True,
        http_url: str | None = None,
    ) -> None:
        """``state_dir`` (default ``$PERPDEX_STATE_DIR`` or ``~/.local/state/perpdex``)
        holds the nonce file and, with ``keep_receipts``, the receipts directory."""
        self.url = url
        self.http_url = http_url
        """The node's HTTP API (None: asked of the gateway on the first read)."""
        self._http_url_given = http_url is not None
        self.wallet = wallet
        self.deployment = deployment
        self.markets = Markets(deployment.markets)
        self.domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
        self.nonces = trader_allocator(
            deployment.chain_id, deployment.contracts.exchange, wallet.address, state_dir
        )
        checkpoints = deployment.contracts.checkpoints
        store = (
            ReceiptStore(
                trader_directory(
                    state_dir or default_state_dir(),
                    deployment.chain_id,
                    checkpoints,
                    wallet.address,
                )
            )
            if keep_receipts
            else None
        )
        self.receipts = TraderReceipts(receipt_domain(deployment.chain_id, checkpoints), store)
        """Every receipt the gateway sent, checked (``.received``, ``.bad``) and stored."""
        self._login = login
        self._cancel_on_disconnect = cancel_on_disconnect
        self._chain: ChainClient | None = None
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._fatal: BaseException | None = None
        self._closing = False
        self._runner: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Frame]] = {}
        self._subscriptions: list[Subscription[Any]] = []
        self._resyncing: set[MarketId] = set()
        self._orders: OrderedDict[OrderHash, SignedOrder] = OrderedDict()
        self._client_ids: dict[OrderHash, str] = {}
        self._by_client_id: dict[str, OrderHash] = {}
        self._closing_ws: set[asyncio.Task[None]] = set()  # referenced until done

    @classmethod
    def connect(
        cls,
        url: str,
        private_key: str | bytes,
        deployment: Deployment,
        *,
        state_dir: Path | None = None,
        login: bool = True,
        cancel_on_disconnect: bool = False,
        keep_receipts: bool = True,
        http_url: str | None = None,
    ) -> Client:
        """``async with Client.connect(url, key, deployment) as client``: the key as 0x-hex."""
        return cls(
            url,
            Wallet.from_private_key(private_key),
            deployment,
            state_dir=state_dir,
            login=login,
            cancel_on_disconnect=cancel_on_disconnect,
            keep_receipts=keep_receipts,
            http_url=http_url,
        )

    @property
    def address(self) -> Address:
        return self.wallet.address

    async def chain(self) -> ChainClient:
        """The wallet's on-chain client, connected on first use (market data needs no node)."""
        if self._chain is None:
            chain = await asyncio.to_thread(ChainClient, self.deployment, self.wallet)
            account = await asyncio.to_thread(chain.account, self.address)
            self.nonces.observe_floor(account.nonce_floor)
            self.receipts.operator = await asyncio.to_thread(chain.checkpoint_operator)
            self._chain = chain
        return self._chain

    async def __aenter__(self) -> Self:
        self._runner = asyncio.create_task(self._run(), name=f"perpdex client {self.address}")
        try:
            await self._wait_ready(CONNECT_TIMEOUT_S)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection, once the receipts of acknowledged orders arrived (at most
        ``RECEIPT_WAIT_S``: a command that places and exits keeps them too)."""
        if self._ws is not None and self.receipts.awaited():
            await self.receipts.drain(RECEIPT_WAIT_S)
        self._closing = True
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        for subscription in self._subscriptions:
            subscription.end()
        self._subscriptions.clear()

    # ------------------------------------------------------------------ orders

    async def place(
        self,
        market: str,
        side: Side | str,
        size: DecimalLike,
        price: DecimalLike,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        margin_mode: MarginMode | None = None,
        ttl_s: int = DEFAULT_ORDER_TTL_S,
        max_fee_ppm: int | None = None,
        client_id: str | None = None,
        trigger_price: DecimalLike | None = None,
        trigger: TriggerLike | None = None,
    ) -> PlacedOrder:
        """Sign and place a limit order; ``size`` and ``price`` are decimals in the market's
        base asset and USD, converted exactly (on the market's lot and tick grid). A market
        order is an IOC whose ``price`` is the worst price accepted. ``max_fee_ppm`` caps the
        fee (default: the market's higher fee now). ``margin_mode`` defaults to cross, and
        for a reduce-only order to the mode of the position it reduces. With
        ``trigger_price`` and ``trigger`` (``"above"``/``"below"``) it is a trigger order:
        held off the book until the index price is at or above (below) ``trigger_price``,
        then placed as signed."""
        spec = OrderSpec(
            market,
            side,
            size,
            price,
            time_in_force,
            reduce_only,
            margin_mode,
            ttl_s,
            max_fee_ppm,
            client_id,
            trigger_price,
            trigger,
        )
        return await self._place(spec)

    async def set_tpsl(
        self,
        market: str,
        stop_loss: DecimalLike | None = None,
        take_profit: DecimalLike | None = None,
        *,
        slippage: DecimalLike = DEFAULT_TRIGGER_SLIPPAGE,
        ttl_s: int = DEFAULT_ORDER_TTL_S,
    ) -> list[PlacedOrder]:
        """Attach a stop-loss and/or take-profit to your position in ``market`` (with its
        unsettled fills): reduce-only market orders of its whole size (worst price
        ``slippage`` past the trigger), held until the index crosses their price; the node
        cancels them once the position is closed, so the one that closes it takes the
        other along. Each replaces an earlier one of its kind, cancelled once the new one
        is placed (so the position is never without). Returns them in that order."""
        listed = self.markets.symbol(market)
        position = await self._position(listed.symbol)
        size = 0 if position is None else to_size_units(position.size)
        orders = attached(
            size, listed, stop_loss=stop_loss, take_profit=take_profit, slippage=slippage
        )
        assert position is not None  # attached() refuses a flat position
        earlier = [(o.order_hash, o.order) for o in await self.open_orders(market)]
        mode = position.margin_mode
        placed = [await self._place(order.spec(market, mode, ttl_s)) for order in orders]
        for order_hash in superseded(orders, earlier):
            await self.cancel(order_hash)
        return placed

    async def close_position(
        self, market: str, slippage: DecimalLike = DEFAULT_CLOSE_SLIPPAGE
    ) -> PlacedOrder | None:
        """Close your position in ``market`` (with its unsettled fills) at market: one
        reduce-only IOC of its whole size, worst price ``slippage`` from the mark price.
        Returns it (None: no position)."""
        listed = self.markets.symbol(market)
        position = await self._position(listed.symbol)
        if position is None or not position.size:
            return None
        if position.mark_price is None:
            raise TriggerError(f"{market} has no mark price to close at")
        mark = to_price_units(position.mark_price)
        order = market_close(to_size_units(position.size), mark, slippage, listed)
        return await self._place(order.spec(market, position.margin_mode))

    async def _place(self, spec: OrderSpec) -> PlacedOrder:
        await self.chain()  # learn the on-chain nonce floor once
        (spec,) = await self._with_modes([spec])
        request, signed = self._place_request(spec)
        return self._placed(request, signed, await self._request(request, Placed))

    async def receipt(
        self, order_hash: OrderHash, timeout: float = REQUEST_TIMEOUT_S
    ) -> SignedReceipt:
        """The operator's receipt of an order this client placed, once it arrived and passed
        its checks (``BadReceiptError`` if it failed one, ``MissingReceiptError`` if none
        came within ``timeout``)."""
        return await self.receipts.wait(order_hash, timeout)

    async def _position(self, symbol: str) -> Position | None:
        """Your position in the market ``symbol`` as the gateway sees it (None: flat)."""
        held = [p for p in await self.positions() if p.market == symbol]
        return held[0] if held else None

    async def place_many(self, orders: Iterable[OrderSpec]) -> list[PlacedOrder | GatewayError]:
        """Sign and place ``orders`` in batches (up to 100 per frame, the protocol's most):
        per order, in order, the placed order or the gateway's typed error (it had no
        effect). An amount the SDK refuses raises before anything is sent."""
        await self.chain()
        signed = [self._place_request(spec) for spec in await self._with_modes(list(orders))]
        requests = [request for request, _ in signed]
        await self._wait_ready(REQUEST_TIMEOUT_S)
        results: list[PlacedOrder | GatewayError] = []
        for chunk in frames(requests):
            answers = await self._exchange([requests[i] for i in chunk])
            for i, frame in zip(chunk, answers, strict=True):
                try:
                    results.append(self._placed(*signed[i], _expect(frame, Placed)))
                except GatewayError as error:
                    results.append(error)
        return results

    async def _with_modes(self, specs: list[OrderSpec]) -> list[OrderSpec]:
        """``specs`` with each margin mode left out filled in: cross, or for a reduce-only
        order the mode of the position it reduces (with unsettled fills, one read for all):
        the contract settles a fill only in the position's own mode."""
        held: dict[str, MarginMode] = {}
        if any(spec.margin_mode is None and spec.reduce_only for spec in specs):
            held = {p.market: p.margin_mode for p in await self.positions()}
        return [
            spec
            if spec.margin_mode is not None
            else dataclasses.replace(
                spec,
                margin_mode=held.get(self.markets.symbol(spec.market).symbol, MarginMode.CROSS)
                if spec.reduce_only
                else MarginMode.CROSS,
            )
            for spec in specs
        ]

    async def amend(
        self,
        order_hash: OrderHash | str | None = None,
        *,
        client_id: str | None = None,
        size: DecimalLike | None = None,
        price: DecimalLike | None = None,
    ) -> PlacedOrder:
        """Replace an open order of yours, named by its hash or its ``client_id``, by one
        with a new size and/or price (a new signed order: same market, side and terms,
        expiry included, a fresh nonce; the gateway refuses an amend that changes any other
        term). An order this client did not place is read from the gateway's open orders."""
        old_hash, old = await self._open_order(order_hash, client_id)
        listed = self.markets.id(old.market)
        order = dataclasses.replace(
            old,
            size=old.size if size is None else order_size(size, listed),
            limit_price=old.limit_price if price is None else order_price(price, listed),
            nonce=self.nonces.next(),
        )
        signed = sign_order(order, self.wallet.signing_key, self.domain)
        request = AmendRequest(
            order_hash=hex0x(old_hash),
            order=WireOrder.of(order),
            signature=_signature(signed),
        )
        amended = await self._request(request, Amended)
        self._orders.pop(old_hash, None)
        kept_id = client_id if client_id is not None else self._client_ids.get(old_hash)
        self._track(signed, kept_id)
        return PlacedOrder(signed, amended.order_id, amended.seq, values.size(order.size), kept_id)

    async def amend_by_client_id(
        self, client_id: str, *, size: DecimalLike | None = None, price: DecimalLike | None = None
    ) -> PlacedOrder:
        return await self.amend(client_id=client_id, size=size, price=price)

    async def cancel(self, order_hash: OrderHash | str) -> int:
        """Cancel an open order by its hash (a signed cancel); returns the engine's seq."""
        cancel = Cancel(self.address, _order_hash(order_hash), _expiry(CANCEL_TTL_S))
        signed = sign_cancel(cancel, self.wallet.signing_key, self.domain)
        request = CancelRequest(
            cancel=WireCancel.of(cancel), signature=hex0x(signed.signature.to_bytes())
        )
        ack = await self._request(request, Ack)
        self._forget(cancel.order_hash)
        return ack.seq

    async def cancel_all(self, market: str | None = None) -> int:
        """Cancel every open order of this trader (in ``market``, or everywhere); returns how
        many it cancelled. Needs the login."""
        market_id = None if market is None else self.markets.symbol(market).id
        return (await self._request(CancelAllRequest(market=market_id), Ack)).cancelled

    async def heartbeat(self, timeout_s: float) -> int:
        """A dead man's switch: every order is cancelled unless the next heartbeat comes
        within ``timeout_s`` (0 disarms it). Needs the login."""
        timeout_ms = round(timeout_s * 1000)
        return (await self._request(ScheduleCancelRequest(timeout_ms=timeout_ms), Ack)).seq

    # ------------------------------------------------------------------ leverage

    async def set_leverage(self, market: str, leverage: DecimalLike) -> LeverageSetting:
        """Cap your leverage in ``market`` (at most its maximum; needs the login): the
        gateway then refuses orders the account could not carry at it. Lowering it is
        refused (:class:`InsufficientMarginError`) if positions or open orders would not fit."""
        request = SetLeverageRequest(
            market=self.markets.symbol(market).id, leverage=str(Decimal(str(leverage)))
        )
        return LeverageSetting.of(await self._request(request, Leverage), self.markets)

    async def leverage(self, market: str) -> LeverageSetting:
        request = GetLeverageRequest(market=self.markets.symbol(market).id)
        return LeverageSetting.of(await self._request(request, Leverage), self.markets)

    # ------------------------------------------------------------------ subscriptions

    async def book(self, market: str) -> BookSubscription:
        """The market's book, yielded whole after every change (``BookView``)."""
        market_id = self.markets.symbol(market).id
        subscription = BookSubscription(market_id, self._unsubscribe, self._resync)
        await self._subscribe(subscription)
        return subscription

    async def trades(self, market: str) -> TradeSubscription:
        """The market's public trades as they happen (``Trade``, in decimals)."""
        subscription = TradeSubscription(
            self.markets, self.markets.symbol(market).id, self._unsubscribe
        )
        await self._subscribe(subscription)
        return subscription

    async def account(self) -> AccountSubscription:
        """Own fills, rejected fills, order updates and account (margin) updates; needs the
        login. Every numbered event (all but the margin updates) comes once, in order, across
        reconnects and gateway restarts."""
        subscription = AccountSubscription(self._unsubscribe, self._reconnect)
        sibling = next(iter(self._accounts()), None)
        subscription.last_seq = None if sibling is None else sibling.last_seq
        subscribed = await self._subscribe(subscription)
        if subscribed is not None and subscribed.seq is not None:
            subscription.began_at(subscribed.seq)
        return subscription

    # ------------------------------------------------------------------ reads (HTTP)

    async def open_orders(self, market: str | None = None) -> list[OpenOrder]:
        """Your orders on the book now (in ``market``, or every market), oldest first: the
        gateway's live state."""
        market_id = None if market is None else self.markets.symbol(market).id
        path = f"/accounts/{self.address}/open-orders"
        found = await self._get(path, list[api.OpenOrder], market=market_id)
        return [OpenOrder.of_api(o) for o in found]

    async def order_status(
        self, order_hash: OrderHash | str | None = None, *, client_id: str | None = None
    ) -> OrderStatus:
        """One of your orders by hash or client id (the newest with it): open, partially
        filled, filled, cancelled or expired, with the size filled, the average price and
        why it left the book. :class:`UnknownOrderError` if the gateway has no such order."""
        if (order_hash is None) == (client_id is None):
            raise ValueError("name the order by its hash or its client_id")
        if order_hash is not None:
            path = f"/accounts/{self.address}/orders/{_hex(order_hash)}"
        else:
            named = urllib.parse.quote(client_id or "", safe="")
            path = f"/accounts/{self.address}/client-orders/{named}"
        return OrderStatus.of_api(await self._get(path, api.HistoricalOrder))

    async def order_book(self, market: str) -> BookView:
        """The market's whole book now, read once (no subscription)."""
        listed = self.markets.symbol(market)
        book = await self._get(f"/markets/{listed.id}/book", api.Book)
        return BookView(
            MarketId(listed.id),
            book.seq,
            tuple(Level(Decimal(p), Decimal(s)) for p, s in book.bids),
            tuple(Level(Decimal(p), Decimal(s)) for p, s in book.asks),
        )

    async def recent_trades(self, market: str, limit: int = 100) -> list[Trade]:
        """The market's newest ``limit`` public trades (at most 1000), newest first."""
        listed = self.markets.symbol(market)
        path = f"/markets/{listed.id}/trades"
        found = await self._get(path, list[api.Trade], limit=limit)
        return [Trade.of_api(listed.symbol, trade) for trade in found]

    async def candles(self, market: str, interval: str = "1m", limit: int = 100) -> list[Candle]:
        """The market's newest ``limit`` OHLCV candles (at most 1000), oldest first;
        ``interval`` is one of 1m, 5m, 15m, 1h, 4h, 1d. An interval without trades has no
        candle."""
        listed = self.markets.symbol(market)
        path = f"/markets/{listed.id}/candles"
        found = await self._get(path, list[api.Candle], interval=interval, limit=limit)
        return [Candle.of_api(listed.symbol, interval, candle) for candle in found]

    # ------------------------------------------------------------------ history (HTTP)

    async def fills(self, after: int = 0, limit: int = 100) -> Page[values.Fill]:
        """This trader's fills with ``account_seq`` above ``after``, oldest first."""
        path = f"/accounts/{self.address}/fills"
        page = await self._get(path, api.EventsPage, after=after, limit=limit)
        fills = [values.Fill.of_api(f) for f in page.events if isinstance(f, api.Fill)]
        return Page(fills, page.next)

    async def order_history(self, after: int = 0, limit: int = 100) -> Page[OrderStatus]:
        """This trader's orders (open and closed) with order ids above ``after``."""
        path = f"/accounts/{self.address}/orders"
        page = await self._get(path, api.OrdersPage, after=after, limit=limit)
        return Page([OrderStatus.of_api(o) for o in page.orders], page.next)

    async def account_events(self, after: int = 0, limit: int = 100) -> Page[values.AccountEvent]:
        """Every fill, rejected fill and order update of this trader numbered above
        ``after`` (``account_seq``)."""
        path = f"/accounts/{self.address}/events"
        page = await self._get(path, api.EventsPage, after=after, limit=limit)
        return Page([values.api_account_event(e) for e in page.events], page.next)

    # ------------------------------------------------------------------ prices and funding (chain)

    async def mark_price(self, market: str) -> MarkPrice:
        """The price the Exchange values positions at (the oracle's, or the last good one
        while it is stale: ``fresh`` says which)."""
        listed = self.markets.symbol(market)
        return await asyncio.to_thread(chain_reads.mark_price, await self.chain(), listed)

    async def index_price(self, market: str) -> IndexPrice:
        """The oracle's latest price and when it was updated."""
        listed = self.markets.symbol(market)
        return await asyncio.to_thread(chain_reads.index_price, await self.chain(), listed)

    async def funding_history(
        self, market: str | None = None, after: int = 0, limit: int = 100
    ) -> Page[FundingPayment]:
        """Your funding payments (the Exchange's ``FundingSettled`` logs) after cursor
        ``after``, oldest first; ``page.next`` is the ``after`` of the next page."""
        listed = None if market is None else self.markets.symbol(market)
        chain = await self.chain()
        found, cursor = await asyncio.to_thread(
            chain_reads.funding_payments, chain, self.address, listed, after, limit
        )
        return Page(found, cursor)

    # ------------------------------------------------------------------ on chain

    async def deposit(self, amount: DecimalLike) -> None:
        """Approve and deposit ``amount`` USDC from the wallet into the Exchange."""
        units = collateral_amount(amount)
        await asyncio.to_thread((await self.chain()).deposit, units)

    async def request_withdrawal(self, amount: DecimalLike) -> values.Withdrawal:
        """Ask to withdraw ``amount`` USDC once the Exchange's delay passed (replaces a
        pending request); ``ready_at`` says when :meth:`execute_withdrawal` succeeds."""
        units = collateral_amount(amount)
        request = await asyncio.to_thread((await self.chain()).request_withdrawal, units)
        return values.Withdrawal.of(request)

    async def execute_withdrawal(self) -> Decimal:
        """Receive the pending request's amount (USDC) once ready; returns it."""
        return values.collateral(await asyncio.to_thread((await self.chain()).execute_withdrawal))

    async def cancel_on_chain(self, nonces: list[Nonce]) -> None:
        """Close these nonces in the contract: no operator can fill them afterwards."""
        await asyncio.to_thread((await self.chain()).cancel_orders, nonces)

    async def cancel_all_on_chain(self) -> Nonce:
        """Raise the on-chain nonce floor above every nonce leased so far (by any process of
        this wallet sharing the state dir); returns the new floor."""
        chain = await self.chain()
        floor = self.nonces.reserve_floor()
        await asyncio.to_thread(chain.raise_nonce_floor, floor)
        return floor

    async def add_margin(self, market: str, amount: DecimalLike) -> Decimal:
        """Move ``amount`` USDC of cross collateral into your isolated position in ``market``
        (on chain); returns its isolated margin after. Refusals are typed
        (:mod:`perpdex.sdk.margin`) and say how much could move."""
        listed, units = self.markets.symbol(market), collateral_amount(amount)
        moved = await asyncio.to_thread(margin.add_margin, await self.chain(), listed, units)
        return from_collateral_units(moved)

    async def remove_margin(self, market: str, amount: DecimalLike) -> Decimal:
        """Move ``amount`` USDC out of your isolated position in ``market`` back to cross;
        returns its isolated margin after (:class:`IsolatedMarginTooLowError` if the position
        would fall below initial margin)."""
        listed, units = self.markets.symbol(market), collateral_amount(amount)
        moved = await asyncio.to_thread(margin.remove_margin, await self.chain(), listed, units)
        return from_collateral_units(moved)

    async def positions(self) -> list[Position]:
        """Open positions with entry price (fees apart), mark, unrealised PnL, margin
        ratio, liquidation price and leverage, from the gateway (unsettled fills included)."""
        account = await self._get(f"/accounts/{self.address}", api.Account)
        return [Position.of_api(view) for view in account.positions]

    async def settled_positions(self) -> list[SettledPosition]:
        """Open positions as the contract holds them (settled fills only)."""
        held = await asyncio.to_thread((await self.chain()).positions, self.address)
        return [SettledPosition.of(state) for state in held]

    # ------------------------------------------------------------------ connection

    async def _run(self) -> None:
        """Connect, log in, subscribe again, read; reconnect with backoff when it drops."""
        failures = 0
        while not self._closing:
            try:
                async with ws_connect(self.url, open_timeout=CONNECT_TIMEOUT_S) as ws:
                    failures = 0
                    await self._serve(ws)
            except GatewayError as error:  # the gateway refused the login: retrying won't help
                self._fatal = error
                self._ready.set()
                return
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as error:
                log.info("gateway connection to %s lost: %s", self.url, error)
            except InvalidURI as error:
                self._fatal = GatewayUnavailableError(f"bad gateway URL: {error}")
                self._ready.set()
                return
            delay = RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S) - 1)]
            failures += 1
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # jitter: no herd

    async def _serve(self, ws: ClientConnection) -> None:
        self._ws = ws
        reader = asyncio.create_task(self._read(ws))
        try:
            expiry = await self._log_in()
            for key, subscription in self._distinct_subscriptions():
                subscription.on_reconnect()
                if key[0] is Channel.ACCOUNT:
                    await self._resume_account()
                else:
                    await self._call(SubscribeRequest(channel=key[0], market=key[1]), Subscribed)
            self._ready.set()
            while not reader.done():
                await asyncio.wait({reader}, timeout=_relogin_in(expiry))
                if not reader.done():
                    expiry = await self._log_in()
        finally:
            self._ready.clear()
            self._ws = None
            reader.cancel()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionLostError("the gateway connection dropped"))
            for subscription in self._subscriptions:
                subscription.on_reconnect()

    async def _resume_account(self) -> None:
        """Subscribe to the account after the last event every account subscription
        yielded; if the gateway replays fewer, read the rest over HTTP first."""
        while True:
            seen = [s.last_seq for s in self._accounts() if s.last_seq is not None]
            after = min(seen, default=None)
            try:
                request = SubscribeRequest(channel=Channel.ACCOUNT, after_seq=after)
                subscribed = await self._call(request, Subscribed)
            except ResumeTooOldError:
                assert after is not None
                await self._catch_up(after)
                continue
            for subscription in self._accounts():
                if subscribed.seq is not None:
                    subscription.began_at(subscribed.seq)
            return

    async def _catch_up(self, after: int) -> None:
        """Deliver the account's events above ``after`` from the HTTP history."""
        cursor: int | None = after
        while cursor is not None:
            page = await self.account_events(cursor, HISTORY_PAGE)
            for event in page.items:
                for subscription in self._accounts():
                    subscription.deliver(event)
            cursor = page.next

    def _reconnect(self) -> None:
        """Drop the connection (an account subscription found a gap): the next one resumes."""
        ws = self._ws
        if ws is not None:
            task = asyncio.ensure_future(ws.close())
            self._closing_ws.add(task)
            task.add_done_callback(self._closing_ws.discard)

    async def _log_in(self) -> int | None:
        """Sign a fresh login (its digest must be new: the nonce is the clock in ns)."""
        if not self._login:
            return None
        login = Login(
            self.address, NO_SESSION_KEY, _expiry(LOGIN_TTL_S), Nonce(time.time_ns() % 2**64)
        )
        signature = sign_login(login, self.wallet.signing_key, self.domain)
        request = LoginRequest(
            login=WireLogin.of(login),
            signature=hex0x(signature.to_bytes()),
            cancel_on_disconnect=self._cancel_on_disconnect,
        )
        return (await self._call(request, LoggedIn)).expiry

    async def _read(self, ws: ClientConnection) -> None:
        async for message in ws:
            try:
                frames = decode_server_frames(message)
            except msgspec.DecodeError as error:
                log.warning("undecodable message from the gateway: %s", error)
                continue
            for frame in frames:
                self._dispatch(frame)

    def _dispatch(self, frame: Frame) -> None:
        if isinstance(frame, Placed | Amended) and frame.receipt:  # before its caller
            self.receipts.acked(parse_order_hash(frame.order_hash), frame.seq)  # resumes
        request_id = getattr(frame, "id", None)
        if request_id is not None and request_id in self._pending:
            future = self._pending[request_id]
            if not future.done():
                future.set_result(frame)
            return
        match frame:
            case BookSnapshot() | BookUpdate():
                for subscription in self._matching(Channel.BOOK, MarketId(frame.market)):
                    if isinstance(subscription, BookSubscription):
                        subscription.on_frame(frame)
            case TradeFrame():
                for subscription in self._matching(Channel.TRADES, MarketId(frame.market)):
                    if isinstance(subscription, TradeSubscription):
                        subscription.on_frame(frame)
            case Fill() | FillRejected() | OrderUpdate():
                event = values.account_event(self.markets, frame)
                for subscription in self._matching(Channel.ACCOUNT, None):
                    subscription.deliver(event)
            case ReceiptIssued():
                self.receipts.on_frame(frame)
            case AccountUpdate():
                update = values.AccountUpdate.of(self.markets, frame)
                for subscription in self._matching(Channel.ACCOUNT, None):
                    subscription.deliver(update)
            case Error():
                log.warning("gateway error: %s %s", frame.code.value, frame.message)
            case _:
                log.debug("unexpected frame %r", frame)

    # ------------------------------------------------------------------ requests

    async def _request(self, request: Request, expected: type[_Response]) -> _Response:
        """Send once the connection is up (logged in and subscribed)."""
        await self._wait_ready(REQUEST_TIMEOUT_S)
        return await self._call(request, expected)

    async def _call(self, request: Request, expected: type[_Response]) -> _Response:
        (frame,) = await self._exchange([request])
        return _expect(frame, expected)

    async def _exchange(self, requests: Sequence[Request]) -> list[Frame]:
        """Send ``requests`` in one frame (an array if more than one) and return their
        answers, in order."""
        ws = self._ws
        if ws is None:
            raise ConnectionLostError("the gateway connection dropped")
        loop = asyncio.get_running_loop()
        numbered = [msgspec.structs.replace(r, id=next(self._ids)) for r in requests]
        futures: list[asyncio.Future[Frame]] = []
        for request in numbered:
            assert request.id is not None
            futures.append(self._pending.setdefault(request.id, loop.create_future()))
        try:
            await ws.send(msgspec.json.encode(numbered[0] if len(numbered) == 1 else numbered))
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that
            # arrives as the answer does, and a caller's loop would then never stop
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                return [await future for future in futures]
        except ConnectionClosed:
            raise ConnectionLostError("the gateway connection dropped") from None
        except TimeoutError:
            raise ConnectionLostError(f"no answer within {REQUEST_TIMEOUT_S} s") from None
        finally:
            for request in numbered:
                assert request.id is not None
                del self._pending[request.id]

    async def _wait_ready(self, timeout: float) -> None:
        if self._closing:
            raise RuntimeError("the client is closed")
        try:
            async with asyncio.timeout(timeout):  # not wait_for (see _call)
                await self._ready.wait()
        except TimeoutError:
            raise GatewayUnavailableError(
                f"no gateway connection at {self.url} within {timeout} s"
            ) from None
        if self._fatal is not None:
            raise self._fatal

    # ------------------------------------------------------------------ subscription plumbing

    async def _subscribe(self, subscription: Subscription[Any]) -> Subscribed | None:
        """The gateway's answer, or None if another subscription of the channel had it."""
        key = (subscription.channel, subscription.market)
        first = all(_key(s) != key for s in self._subscriptions)
        self._subscriptions.append(subscription)
        if not first:
            return None
        try:
            return await self._request(SubscribeRequest(channel=key[0], market=key[1]), Subscribed)
        except BaseException:
            self._subscriptions.remove(subscription)
            raise

    async def _get(self, path: str, kind: type[_Decoded], **query: object) -> _Decoded:
        """A read of the node's HTTP API (found from the gateway's URL on first use unless
        given); query members that are None are left out."""
        given = {name: value for name, value in query.items() if value is not None}
        path = f"{path}?{urllib.parse.urlencode(given)}"
        if self.http_url is None:
            self.http_url = await asyncio.to_thread(discover_http_url, self.url)
        try:
            return await asyncio.to_thread(http_get, self.http_url, path, kind)
        except GatewayUnavailableError:
            if self._http_url_given:
                raise
        # a node restarted on another HTTP port: ask its gateway again, once
        self.http_url = await asyncio.to_thread(discover_http_url, self.url)
        return await asyncio.to_thread(http_get, self.http_url, path, kind)

    async def _unsubscribe(self, subscription: Subscription[Any]) -> None:
        self._subscriptions.remove(subscription)
        key = _key(subscription)
        if self._ready.is_set() and all(_key(s) != key for s in self._subscriptions):
            await self._call(UnsubscribeRequest(channel=key[0], market=key[1]), Ack)

    async def _resync(self, subscription: BookSubscription) -> None:
        """A gap in a book's updates: ask for a fresh snapshot (once per market at a time)."""
        market = subscription.book.market
        if market in self._resyncing:
            return
        self._resyncing.add(market)
        try:
            await self._call(UnsubscribeRequest(channel=Channel.BOOK, market=market), Ack)
            await self._call(SubscribeRequest(channel=Channel.BOOK, market=market), Subscribed)
        except (GatewayError, ConnectionLostError) as error:
            log.info("book %s resync failed (%s); the next connection re-snapshots", market, error)
        finally:
            self._resyncing.discard(market)

    def _distinct_subscriptions(self) -> Iterator[tuple[_SubscriptionKey, Subscription[Any]]]:
        seen: set[_SubscriptionKey] = set()
        for subscription in self._subscriptions:
            key = _key(subscription)
            if key not in seen:
                seen.add(key)
                yield key, subscription

    def _matching(self, channel: Channel, market: MarketId | None) -> list[Subscription[Any]]:
        return [s for s in self._subscriptions if s.channel is channel and s.market == market]

    def _accounts(self) -> list[AccountSubscription]:
        return [s for s in self._subscriptions if isinstance(s, AccountSubscription)]

    def _place_request(self, spec: OrderSpec) -> tuple[PlaceRequest, SignedOrder]:
        """``spec`` signed with the next nonce."""
        listed = self.markets.symbol(spec.market)
        trigger = Trigger.parse(spec.trigger_price, spec.trigger, listed)
        order = Order(
            trader=self.address,
            market=listed.id,
            is_buy=_side(spec.side).is_buy,
            size=order_size(spec.size, listed),
            limit_price=order_price(spec.price, listed),
            max_fee_ppm=FeePpm(
                max(listed.maker_fee_ppm, listed.taker_fee_ppm)
                if spec.max_fee_ppm is None
                else spec.max_fee_ppm
            ),
            margin_mode=MarginMode.CROSS if spec.margin_mode is None else spec.margin_mode,
            time_in_force=spec.time_in_force,
            reduce_only=spec.reduce_only,
            expiry=_expiry(spec.ttl_s),
            nonce=self.nonces.next(),
            trigger_price=trigger.price,
            trigger_direction=trigger.direction,
        )
        signed = sign_order(order, self.wallet.signing_key, self.domain)
        request = PlaceRequest(
            order=WireOrder.of(order), signature=_signature(signed), client_id=spec.client_id
        )
        return request, signed

    def _placed(self, request: PlaceRequest, signed: SignedOrder, placed: Placed) -> PlacedOrder:
        self._track(signed, request.client_id)
        size = values.size(placed.size)
        return PlacedOrder(signed, placed.order_id, placed.seq, size, request.client_id)

    async def _open_order(
        self, order_hash: OrderHash | str | None, client_id: str | None
    ) -> tuple[OrderHash, Order]:
        """The hash and terms of an open order of yours: tracked here, else the gateway's."""
        if (order_hash is None) == (client_id is None):
            raise ValueError("name the order by its hash or its client_id")
        if order_hash is not None:
            known: OrderHash | None = _order_hash(order_hash)
        else:
            assert client_id is not None
            known = self._by_client_id.get(client_id)
        signed = None if known is None else self._orders.get(known)
        if signed is not None:
            return signed.order_hash, signed.order
        by_hash = None if order_hash is None else _hex(order_hash).lower()
        for open_order in await self.open_orders():
            if open_order.order_hash == by_hash or (
                by_hash is None and open_order.client_id == client_id
            ):
                return parse_order_hash(open_order.order_hash), open_order.order
        named = f"client id {client_id!r}" if by_hash is None else by_hash
        raise UnknownOrderError(f"no open order of yours with {named}")

    def _track(self, signed: SignedOrder, client_id: str | None) -> None:
        self._orders[signed.order_hash] = signed
        if client_id is not None:
            self._by_client_id[client_id] = signed.order_hash
            self._client_ids[signed.order_hash] = client_id
        if len(self._orders) > MAX_TRACKED_ORDERS:
            oldest, _ = self._orders.popitem(last=False)
            self._forget(oldest)

    def _forget(self, order_hash: OrderHash) -> None:
        self._orders.pop(order_hash, None)
        client_id = self._client_ids.pop(order_hash, None)
        if client_id is not None and self._by_client_id.get(client_id) == order_hash:
            del self._by_client_id[client_id]


def _expect(frame: Frame, expected: type[_Response]) -> _Response:
    """``frame`` as the answer expected; an error frame raises its typed error."""
    if isinstance(frame, Error):
        raise gateway_error(frame)
    if not isinstance(frame, expected):
        raise GatewayInternalError(f"expected a {expected.__name__} frame, got {frame!r}")
    return frame


def _key(subscription: Subscription[Any]) -> _SubscriptionKey:
    return (subscription.channel, subscription.market)


def _side(side: Side | str) -> Side:
    if isinstance(side, Side):
        return side
    try:
        return Side[side.upper()]
    except KeyError:
        raise ValueError(f"side must be buy or sell, got {side!r}") from None


def _expiry(ttl_s: int) -> UnixTime:
    return UnixTime(int(time.time()) + ttl_s)


def _relogin_in(expiry: int | None) -> float | None:
    if expiry is None:
        return None
    return max(expiry - time.time() - RELOGIN_MARGIN_S, 1.0)


def _signature(signed: SignedOrder) -> str:
    return hex0x(signed.signature.to_bytes())


def _order_hash(order_hash: OrderHash | str) -> OrderHash:
    return parse_order_hash(order_hash) if isinstance(order_hash, str) else order_hash


def _hex(order_hash: OrderHash | str) -> str:
    return order_hash if isinstance(order_hash, str) else hex0x(order_hash)


__all__ = ["DEFAULT_ORDER_TTL_S", "Client", "ListedMarket", "OrderSpec", "Page", "PlacedOrder"]
